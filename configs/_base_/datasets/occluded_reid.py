# Occluded-ReID (BPBreID's protocol): train on Market-1501 with K=8 body-part labels
# (bpbreid8), test on Occluded-ReID: the 1000 occluded images are the queries (camid 0),
# the 1000 whole-body images the gallery (camid 1); protocol 'all' (nothing filtered).
# Labels: data/market1501/masks/bpbreid8/bounding_box_train/<stem>.png
# (tools/dataset_converters/generate_part_labels.py data/market1501 --schemes bpbreid8).
_base_ = ['./market1501.py']

img_size = (256, 128)  # (H, W)
part_scheme = 'bpbreid8'
part_labels = dict(scheme=part_scheme, label_dir='masks')
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=10),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline, part_labels=part_labels))
val_dataloader = dict(
    dataset=dict(
        type='OccludedREID',
        data_root='data/Occluded_REID',
        mode='test',
        split='all',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', metric='euclidean', protocol='all')
test_evaluator = val_evaluator
