# VPM's two training stages in one run (vpm.md section 5): stage 1, epochs 0-49, the
# cross-entropy losses only (L_R + L_ID) on batches of 64 random images; stage 2, epochs
# 50-129, + the region-selective triplet on PK batches of 8 identities x 8 images.
# SGD (momentum 0.9, weight decay 5e-4), lr 0.1, x0.1 after 30 epochs of each stage: the
# restart at epoch 50 is the second scheduler (x10), so the lr is 0.1 / 0.01 / 0.1 / 0.01
# over epochs 0-29 / 30-49 / 50-79 / 80-129 (tests/test_configs/test_vpm_configs.py).
# StageSwitchHook turns the triplet on and swaps the sampler at epoch 50, also after a
# resume. backbone lr_mult: 1.0 (the paper's single lr; 0.1 is PCB's option).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys=dict(backbone=dict(lr_mult=1.0))))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 80], gamma=0.1),
    dict(type='MultiStepLR', by_epoch=True, milestones=[50], gamma=10.0),  # stage-2 restart
]
train_cfg = dict(by_epoch=True, max_epochs=130, val_interval=130)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=64)
vpm_stage2_sampler = dict(type='IdentitySampler', num_instances=8, batch_size=64)
custom_hooks = [
    dict(type='StageSwitchHook', stages=[
        dict(epoch=50, head=dict(enable_triplet=True),
             train_dataloader=dict(sampler=vpm_stage2_sampler)),
    ]),
]
