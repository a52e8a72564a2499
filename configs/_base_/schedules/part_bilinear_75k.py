# The part-aligned bilinear recipe: Caffe-style SGD (momentum 0.9, weight decay 2e-3 as in
# the paper; the release uses 2e-4), learning rate 0.01 divided by 5 every 20k iterations,
# 75k iterations; biases get twice the learning rate and no weight decay (Caffe convention).
# Includes the default runtime (iteration-based logging and checkpoints).
_base_ = ['../default_runtime.py']

optim_wrapper = dict(
    optimizer=dict(type='CaffeSGD', lr=0.01, momentum=0.9, weight_decay=2e-3),
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[20000, 40000, 60000], gamma=0.2),
]
train_cfg = dict(by_epoch=False, max_iters=75000, val_interval=75000)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=180)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=5000, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
