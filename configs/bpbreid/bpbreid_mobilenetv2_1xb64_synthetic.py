# BPBreID (K=8, the synthetic set's exact bpbreid8 labels) on a MobileNetV2 (width 0.5)
# trained from scratch on a CPU, with the optimizer, schedule (40 epochs), batch and
# augmentation of configs/baseline/bot_mobilenetv2_1xb64_synthetic.py so that the two
# compare directly, except for two part-specific choices: 128x64 input (8x4 feature maps
# for 8 parts, where 64x32 would give 4x2) and no horizontal flip (it would swap the
# left/right parts).
_base_ = [
    '../_base_/models/bpbreid_mobilenetv2.py',
    '../_base_/datasets/synthetic_parts.py',
    '../_base_/schedules/bpbreid_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(widen_factor=0.5, init_cfg=None),
    head=dict(in_channels=1280, num_classes=200, num_parts=8, part_scheme='bpbreid8'))

img_size = (128, 64)
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=6),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(num_workers=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=5e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2),
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 36], gamma=0.1),
]
train_cfg = dict(max_epochs=40, val_interval=40)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10))
