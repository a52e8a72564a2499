# The global baseline of the synthetic part study: BoT with the backbone, input,
# augmentation, optimizer and schedule of configs/bpbreid/bpbreid_mobilenetv2_1xb64_synthetic.py
# (MobileNetV2 width 0.5 from scratch, output stride 8, 128x64 -> 16x8 maps, pad-crop, no
# flip, Adam 5e-3, 24 epochs), so that the two differ only by the head and its losses.
_base_ = ['./bot_mobilenetv2_1xb64_synthetic.py']

model = dict(backbone=dict(output_stride=8))

img_size = (128, 64)
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=6),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2),
    dict(type='MultiStepLR', by_epoch=True, milestones=[18, 22], gamma=0.1),
]
train_cfg = dict(max_epochs=24, val_interval=24)
default_hooks = dict(checkpoint=dict(interval=8))
