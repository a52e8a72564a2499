# BoT (Bag of Tricks) strong baseline: ResNet-50 with last stride 1, GAP, BNNeck,
# label-smoothed cross-entropy on the BN'd feature, batch-hard triplet on the pre-BN feature.
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(
        type='ReIDDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNetReID',
        depth=50,
        last_stride=1,
        out_indices=(3, ),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/'
            'resnet50_8xb32_in1k_20210831-ea4938fc.pth',
            prefix='backbone.')),
    head=dict(
        type='BNNeckHead',
        in_channels=2048,
        num_classes=751,
        pool='avg',
        loss_cls=dict(type='CrossEntropyLoss', label_smoothing=0.1, loss_weight=1.0),
        loss_triplet=dict(type='TripletLoss', margin=0.3, loss_weight=1.0),
        test_feature='after_bn'),
)
