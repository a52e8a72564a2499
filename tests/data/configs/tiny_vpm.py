# A tiny VPM model (6 x 1 regions on 12 x 4 maps) on a tiny synthetic set, for the tools'
# integration tests: the CPU-tier config with a narrow, randomly initialised MobileNetV2 at
# 96x32, two epochs, the triplet from the second.
_base_ = ['../../../configs/vpm/vpm_mobilenetv2os8_1xb64_synthetic_cpu.py']

img_size = (96, 32)
batch_size = 16
model = dict(
    backbone=dict(widen_factor=0.25, pretrained=None),
    head=dict(num_classes=8, dim_reduce=32))
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='VPMRandomCrop', crop_mode='top', ratio_range=(0.5, 1.0), grid=(6, 1),
         label_stride=8),
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
    batch_size=batch_size,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(num_instances=4, batch_size=batch_size),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[100], gamma=0.1)]
train_cfg = dict(max_epochs=2, val_interval=2)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
custom_hooks = [
    dict(type='StageSwitchHook', stages=[dict(epoch=1, head=dict(enable_triplet=True))]),
]
