# BPBreID-RI: ResNet-50-IBN-a (IBN-Net ImageNet weights, last stride 1, no non-local
# blocks; 384x128 -> 2048 x 24 x 8) + BPBreID head.
_base_ = ['./bpbreid_r50.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetIBN',
        depth=50,
        last_stride=1,
        out_indices=(3, ),
        ibn_stages=(True, True, True, False),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://github.com/XingangPan/IBN-Net/releases/download/v1.0/'
            'resnet50_ibn_a-d9d0bb7b.pth')),
    head=dict(in_channels=2048))
