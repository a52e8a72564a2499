# Pose distillation of the light part stream on the synthetic training images, whose part
# labels and keypoints are exact (written by tools/dataset_converters/generate_synthetic.py
# under masks/ and keypoints/). 1500 iterations of 32 images.
_base_ = ['./posedistill_mobilenetv2os8_1xb32_cuhk03detected.py']

data_root = 'data/synthetic'
model = dict(head=dict(num_classes=200))
train_dataloader = dict(dataset=dict(type='SyntheticPedestrians', data_root=data_root))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=1500, eta_min=1e-5),
]
train_cfg = dict(max_iters=1500)
