# DROP recipe (drop.md 5, BPBreID's code): Adam 3.5e-4 (betas 0.9, 0.999), weight decay 5e-4;
# linear warm-up from 0.01x over the first 10 epochs, x0.1 at epochs 40 and 70; 120 epochs,
# evaluation after the last one.
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=3.5e-4, betas=(0.9, 0.999), weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=10),
    dict(type='MultiStepLR', by_epoch=True, milestones=[40, 70], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=120)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=64)
