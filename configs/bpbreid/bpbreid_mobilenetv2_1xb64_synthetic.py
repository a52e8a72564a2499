# BPBreID (K=8, the synthetic set's exact bpbreid8 labels) on a MobileNetV2 (width 0.5)
# trained from scratch on a CPU. The synthetic pedestrians are thin (a quarter of the
# pixels), so the backbone runs at output stride 8: 128x64 images give 16x8 part maps,
# the map size of the paper's ResNet-50 at 256x128. No horizontal flip: the study compares
# left/right parts with their labels. Its global counterpart, with the same backbone,
# input, augmentation, optimizer and 24-epoch schedule, is
# configs/baseline/bot_mobilenetv2_os8_1xb64_synthetic_128x64.py.
_base_ = [
    '../_base_/models/bpbreid_mobilenetv2.py',
    '../_base_/datasets/synthetic_parts.py',
    '../_base_/schedules/bpbreid_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(widen_factor=0.5, output_stride=8, init_cfg=None),
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
    dict(type='MultiStepLR', by_epoch=True, milestones=[18, 22], gamma=0.1),
]
train_cfg = dict(max_epochs=24, val_interval=24)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=8))
