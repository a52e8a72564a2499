# The embedded synthetic pedestrians with their exact K=8 part labels (bpbreid8), written
# by the generator under <data_root>/masks/bpbreid8/<split dir>/:
#   python tools/dataset_converters/generate_synthetic.py data/synthetic
# Same 128x64 input and augmentation as synthetic.py, without the horizontal flip.
_base_ = ['./synthetic.py']

img_size = (128, 64)  # (H, W)
part_scheme = 'bpbreid8'
part_labels = dict(scheme=part_scheme, label_dir='masks')
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=5),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline, part_labels=part_labels))
