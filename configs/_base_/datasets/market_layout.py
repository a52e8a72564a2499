# Common data settings of datasets in Market-1501 layout: BoT augmentation at 256x128,
# PK batches of 16 identities x 4 images, the 'market' evaluation protocol. A named
# dataset config inherits this file and sets the dataset type and root of the three loaders.
dataset_type = 'MarketFormatDataset'
data_root = 'data/custom'
img_size = (256, 128)  # (H, W)

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=10),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PackReIDInputs'),
]

batch_size = 64  # P x K = 16 identities x 4 images
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='IdentitySampler', num_instances=4, batch_size=batch_size),
    dataset=dict(type=dataset_type, data_root=data_root, mode='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, mode='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', metric='euclidean', protocol='market')
test_evaluator = val_evaluator
