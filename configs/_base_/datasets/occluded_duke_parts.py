# Occluded-Duke with K=8 body-part labels (bpbreid8) for part-based training (BPBreID).
# Labels: <data_root>/masks/bpbreid8/<split dir>/<image stem>.png, as written by
#   python tools/dataset_converters/generate_part_labels.py <data_root> --schemes bpbreid8
# Augmentation: zero-pad 10 + random crop, random erasing (erased labels become
# background); no horizontal flip (it would swap the left/right part semantics).
_base_ = ['./occluded_duke.py']

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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline, part_labels=part_labels))
