# DROP-HR (the paper's main model): HRNet-W32 whose four branches go through the ImageNet
# classifier's increase layers and are returned unfused (S1..S4: 128/256/512/1024 channels
# at strides 4/8/16/32); the DROP head concatenates S1 with the upsampled S2..S4 into
# P_reid (1920 channels at stride 4, as BPBreID's HRNet map) and runs the DPU over S1..S4.
_base_ = ['./drop_r50.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='HRNetFused',
        arch='w32',
        fuse=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/hrnet/'
            'hrnet-w32_3rdparty_8xb32_in1k_20220120-c394f1ab.pth')),
    head=dict(in_channels=(128, 256, 512, 1024), reid_map='concat'))
