# Pose distillation of the light part stream on the synthetic training images, whose part
# labels and keypoints are exact (written by tools/dataset_converters/generate_synthetic.py
# under masks/ and keypoints/). The same 350 iterations of 32 images (6 epochs of the 1783
# training images), about 20 minutes on two cores with --amp.
_base_ = ['./posedistill_mobilenetv2os8_1xb32_cuhk03detected.py']

data_root = 'data/synthetic'
model = dict(head=dict(num_classes=200))
train_dataloader = dict(dataset=dict(type='SyntheticPedestrians', data_root=data_root))
