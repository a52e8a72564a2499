# P-DukeMTMC-reID with K=8 body-part labels (bpbreid8): train on its training split
# (occluded and whole-body images), queries = occluded test images (camid 0), gallery =
# whole-body test images (camid 1); protocol 'all' (nothing filtered).
# Labels (per-identity folder dropped):
#   <data_root>/masks/bpbreid8/train/<occluded|whole>_body_images/<stem>.png
# Augmentation: zero-pad 10 + random crop, random erasing (erased labels become
# background); no horizontal flip.
_base_ = ['./market_layout.py']

dataset_type = 'PDukeMTMC'
data_root = 'data/P-DukeMTMC-reID'
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
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        part_labels=part_labels,
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', metric='euclidean', protocol='all')
test_evaluator = val_evaluator
