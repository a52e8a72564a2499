# BoT baseline on MobileNetV2 (last stride 1: 256x128 -> 16x8 maps of 1280 channels),
# small enough for training on a CPU.
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(
        type='ReIDDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='MobileNetV2ReID',
        widen_factor=1.0,
        last_stride=1,
        out_indices=(7, ),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/mobilenet_v2/'
            'mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth',
            prefix='backbone.')),
    head=dict(
        type='BNNeckHead',
        in_channels=1280,
        num_classes=751,
        pool='avg',
        loss_cls=dict(type='CrossEntropyLoss', label_smoothing=0.1, loss_weight=1.0),
        loss_triplet=dict(type='TripletLoss', margin=0.3, loss_weight=1.0),
        test_feature='after_bn'),
)
