# BoT recipe: Adam 3.5e-4, weight decay 5e-4, linear warm-up over 10 epochs from 3.5e-5,
# x0.1 at epochs 40 and 70, 120 epochs; evaluation after the last epoch.
# mmengine's LinearLR(end=N) reaches the base lr at epoch N - 1: end=11 gives
# lr(0) = 3.5e-5 and lr(10) = 3.5e-4 (tests/test_engine/test_schedules.py).
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=3.5e-4, betas=(0.9, 0.999), weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=11),
    dict(type='MultiStepLR', by_epoch=True, milestones=[40, 70], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=120)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=64)
