# The main job of tools/quickstart.sh: BoT with a MobileNetV2 (width 0.5) trained from scratch
# on the embedded synthetic set, sized for a 2-core CPU: 64x32 input (4x2 feature maps with
# last stride 1), no random erasing, a higher learning rate and 40 short epochs.
_base_ = [
    '../_base_/models/bot_mobilenetv2.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/bot_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(widen_factor=0.5, init_cfg=None),
    head=dict(in_channels=1280, num_classes=200))

img_size = (64, 32)
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=3),
    dict(type='ReIDRandomFlip', prob=0.5),
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
