# BoT with an ImageNet MobileNetV2 on a CUHK03 "detected" set in Market layout, sized for
# training on a 2-core CPU: 128x64 input, 6 epochs. The ImageNet weights are a local file
# (torchvision key layout, converted on load); users point `pretrained` at their copy or
# at the OpenMMLab checkpoint URL of the base model config.
_base_ = [
    '../_base_/models/bot_mobilenetv2.py',
    '../_base_/datasets/cuhk03_detected_market_layout.py',
    '../_base_/schedules/bot_120e.py',
    '../_base_/default_runtime.py',
]

img_size = (128, 64)
model = dict(
    backbone=dict(
        init_cfg=None,
        pretrained='../shared/weights/mobilenetv2_imagenet_torchvision_keys.pt'),
    head=dict(in_channels=1280, num_classes=543))

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
train_dataloader = dict(num_workers=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=2, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2),
    dict(type='MultiStepLR', by_epoch=True, milestones=[4, 5], gamma=0.1),
]
train_cfg = dict(max_epochs=6, val_interval=3)
default_hooks = dict(logger=dict(interval=20))
