# GlobalPool of part awareness learning on MobileNetV2 (Fig. 7): the last stride-2 stage at
# stride 1 (256x128 -> 16x8 maps of 1280 channels), global max pooling, Em512, FC(C).
_base_ = ['./pal_globalpool_r50.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2ReID',
        widen_factor=1.0,
        last_stride=1,
        out_indices=(7, ),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/mobilenet_v2/'
            'mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth',
            prefix='backbone.')),
    head=dict(in_channels=1280))
ps_head = dict(in_channels=1280)
