# GlobalPool of part awareness learning (PAL, Fig. 4): ResNet-50 with last stride 1
# (256x128 -> 16x8 maps), global max pooling, Em512 (Linear-BN-ReLU), FC(C), cross-entropy.
# Test: the Em512 output, L2-normalised.
# `ps_head` is the training-only part segmentation head (type c: 3x3 deconv stride 2 to 256
# channels, BN, ReLU, 1x1 conv to the 8 pal7 classes; class-balanced CE, lambda = 1) that
# the "+PS" configs add as `model.aux_heads.ps_head`.
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
        type='GlobalPoolHead',
        in_channels=2048,
        num_classes=751,
        pool='max',
        embed_dim=512,
        loss_cls=dict(type='CrossEntropyLoss'),
        test_normalize=True),
)
ps_head = dict(
    type='PartSegHead',
    in_channels=2048,
    num_classes=8,
    head_type='c',
    mid_channels=256,
    loss=dict(type='PartSegLoss', class_balanced=True, loss_weight=1.0))
