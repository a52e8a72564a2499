# The appearance-network ablation (the paper's Fig. 6): a ResNet-50 appearance stream (last
# stride 1: stride 16, 10x5 maps of 2048 channels at 160x80, on the ImageNet RGB
# normalisation it was trained with) in place of GoogLeNet, the same OpenPose part stream.
_base_ = ['./bilinear_googlenet_openpose_1xb180_market1501.py']

model = dict(
    backbone=dict(
        appearance=dict(
            _delete_=True, type='ResNetReID', depth=50, last_stride=1, out_indices=(3, ),
            pretrained='https://download.openmmlab.com/mmclassification/v0/resnet/'
            'resnet50_8xb32_in1k_20210831-ea4938fc.pth'),
        appearance_norm='imagenet'),
    head=dict(app_channels=2048))
