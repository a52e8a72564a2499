# DROP-RI: ResNet-50-IBN-a (IBN-Net ImageNet weights, last stride 1) returning C2..C5 +
# the DROP head (configs/_base_/models/drop_r50.py).
_base_ = ['./drop_r50.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetIBN',
        depth=50,
        last_stride=1,
        out_indices=(0, 1, 2, 3),
        ibn_stages=(True, True, True, False),
        non_local_blocks=(0, 0, 0, 0),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://github.com/XingangPan/IBN-Net/releases/download/v1.0/'
            'resnet50_ibn_a-d9d0bb7b.pth')))
