# The authors' PyTorch re-implementation on Market-1501 (logs/market1501/d2_b250), whose
# weights convert with tools/model_converters/part_bilinear_to_mmreidparts.py: dilation 2,
# the pose stream fed the GoogLeNet-normalised image x 0.0039, the triplet on squared
# Euclidean distances (margin 0.2, i.e. 0.1 on inner products), weight decay 2e-4, batches
# of 25 ids x 10 images, 750 epochs x 100 iterations with lr x0.2 at 20k, 40k, 60k.
_base_ = ['./bilinear_googlenet_openpose_d2_1xb180_market1501.py']

model = dict(
    backbone=dict(part_norm='release_pose'),
    head=dict(loss=dict(metric='sqeuclidean')))
optim_wrapper = dict(optimizer=dict(weight_decay=2e-4))
train_dataloader = dict(batch_size=250, sampler=dict(batch_size=250))
auto_scale_lr = dict(base_batch_size=250)
