# GlobalPool / PCB recipe of part awareness learning (pal.md 5): SGD, momentum 0.9, weight
# decay 5e-4; lr 0.01 for the backbone and 0.02 for the new layers (embeddings,
# classifiers and the PS head); x0.1 at epochs 25 and 50; 60 epochs.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={
        'head.': dict(lr_mult=2.0),
        'aux_heads.': dict(lr_mult=2.0)
    }))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[25, 50], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=60, val_interval=60)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=32)
