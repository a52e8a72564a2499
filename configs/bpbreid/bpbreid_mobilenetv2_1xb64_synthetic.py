# BPBreID (K=8, the synthetic set's exact bpbreid8 labels) on a MobileNetV2 (width 0.5)
# trained from scratch at 128x64, with the short schedule of
# configs/baseline/bot_mobilenetv2_1xb64_synthetic.py so that the two compare directly.
_base_ = [
    '../_base_/models/bpbreid_mobilenetv2.py',
    '../_base_/datasets/synthetic_parts.py',
    '../_base_/schedules/bpbreid_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(widen_factor=0.5, init_cfg=None),
    head=dict(in_channels=1280, num_classes=200, num_parts=8, part_scheme='bpbreid8'))

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2),
    dict(type='MultiStepLR', by_epoch=True, milestones=[9, 11], gamma=0.1),
]
train_cfg = dict(max_epochs=12, val_interval=12)
default_hooks = dict(logger=dict(interval=10))
