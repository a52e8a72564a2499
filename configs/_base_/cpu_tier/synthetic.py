# The CPU tier on the embedded synthetic pedestrians (exact part labels; 200 training
# identities; 411 queries, 121 of them occluded, and 1400 gallery images), written by
#   python tools/dataset_converters/generate_synthetic.py data/synthetic
# 12 epochs, lr x0.1 at epochs 8 and 11.
_base_ = ['./common.py']

dataset_type = 'SyntheticPedestrians'
data_root = 'data/synthetic'
num_classes = 200
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2),
    dict(type='MultiStepLR', by_epoch=True, milestones=[8, 11], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=12)
