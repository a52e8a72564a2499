# BPBreID-RI: ResNet-50-IBN-a (IBN-Net ImageNet weights, last stride 1; 384x128 ->
# 2048 x 24 x 8) + BPBreID head. The paper does not say whether its ResNet-50-IBN has
# non-local blocks; the release's default backbone does: non_local_blocks=(0, 2, 3, 0).
_base_ = ['./bpbreid_r50.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetIBN',
        depth=50,
        last_stride=1,
        out_indices=(3, ),
        ibn_stages=(True, True, True, False),
        non_local_blocks=(0, 0, 0, 0),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://github.com/XingangPan/IBN-Net/releases/download/v1.0/'
            'resnet50_ibn_a-d9d0bb7b.pth')),
    head=dict(in_channels=2048))
