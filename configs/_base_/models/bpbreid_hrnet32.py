# BPBreID-HR: HRNet-W32 whose four branches go through the ImageNet classifier's increase
# layers, upsampled and concatenated at stride 4 (384x128 -> 1920 x 96 x 32), + BPBreID head.
# The OpenMMLab HRNet-W32 classification checkpoint initialises the HRNet and the increase
# layers.
_base_ = ['./bpbreid_r50.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='HRNetFused',
        arch='w32',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/hrnet/'
            'hrnet-w32_3rdparty_8xb32_in1k_20220120-c394f1ab.pth')),
    head=dict(in_channels=1920))
