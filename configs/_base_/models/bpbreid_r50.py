# BPBreID-RN: ResNet-50 (ImageNet, last stride 1: 256x128 -> 2048 x 16 x 8) + BPBreID head
# (body part attention, global-local pooling, 512-d reduction, BNNeck, GiLt losses).
# The head defaults to K=8 (occluded datasets); holistic datasets set K=5 / bpbreid5.
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
        type='BPBreIDHead',
        in_channels=2048,
        num_classes=702,
        num_parts=8,
        part_scheme='bpbreid8',
        dim_reduce=512,
        fg_pooling='gwap',
        visibility_mode='threshold',
        visibility_threshold=0.4,
        gilt_weights=None,  # GiLt: id on global/foreground/concat, part-averaged triplet
        pa_loss=dict(type='BodyPartAttentionLoss', label_smoothing=0.1, loss_weight=0.35),
        id_loss=dict(type='CrossEntropyLoss', label_smoothing=0.1),
        triplet_loss=dict(type='TripletLoss', margin=0.3),
        part_triplet_loss=dict(type='PartAveragedTripletLoss', margin=0.3),
        label_resize='bilinear',
        test_foreground='bn',
        test_normalize=True),
)
