# The embedded synthetic pedestrians (Market-1501 layout, exact part labels), generated with
#   python tools/dataset_converters/generate_synthetic.py data/synthetic
_base_ = ['./market_layout.py']

dataset_type = 'SyntheticPedestrians'
data_root = 'data/synthetic'
img_size = (128, 64)  # (H, W): the generator's default image size

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=5),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(
    num_workers=2,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
