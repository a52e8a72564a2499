# MGN recipe of part awareness learning (pal.md 5): SGD, momentum 0.9, weight decay 5e-4,
# lr 0.1 (the CE steps; the triplet steps run at 0.1 x, see the model's loss_phases),
# linear warm-up from 0.01 x over 20 epochs (mmengine's LinearLR(end=21) reaches the base
# lr at epoch 20; the release warms up from 0.1 x), x0.1 at epochs 140 and 180, 200 epochs.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=21),
    dict(type='MultiStepLR', by_epoch=True, milestones=[140, 180], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=200)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=128)
