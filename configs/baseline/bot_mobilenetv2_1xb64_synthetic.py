# The main job: BoT with a MobileNetV2 trained from scratch on the embedded synthetic set,
# sized for a CPU (a few minutes on 2 cores).
_base_ = [
    '../_base_/models/bot_mobilenetv2.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/bot_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(widen_factor=0.5, init_cfg=None),
    head=dict(in_channels=1280, num_classes=200))

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2),
    dict(type='MultiStepLR', by_epoch=True, milestones=[9, 11], gamma=0.1),
]
train_cfg = dict(max_epochs=12, val_interval=12)
default_hooks = dict(logger=dict(interval=10))
