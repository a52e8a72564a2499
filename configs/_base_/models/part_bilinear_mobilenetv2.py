# Part-aligned bilinear model on MobileNetV2 streams (the CPU tier): the appearance stream is
# the tier's backbone (set by the tier configs), the part stream a light MobileNetV2 trunk
# (conv1 .. layer5, 96 channels, output stride 8: the 24x8 grid of a 192x64 image, like the
# appearance map), from ImageNet or from a pose-distillation checkpoint
# (tools/pretrain_part_stream.py). Both streams read the data preprocessor's ImageNet
# normalisation. Head as the paper's: conv + BN without affine (1x1 -> 512, 3x3 -> 128),
# compact bilinear pooling to 512, L2 normalisation, batch-all triplet loss.
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(
        type='ReIDDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='TwoStreamBackbone',
        appearance=dict(type='MobileNetV2ReID', widen_factor=1.0, output_stride=8,
                        out_indices=(7, )),
        part=dict(type='MobileNetV2ReID', widen_factor=1.0, output_stride=8, out_indices=(4, ),
                  drop_unused_layers=True),
        appearance_norm='none',
        part_norm='none',
        part_align='none'),
    head=dict(
        type='PartBilinearHead',
        app_channels=1280,
        part_channels=96,
        num_classes=751,
        app_dim=512,
        part_dim=128,
        pooling=dict(type='CompactBilinearPooling', output_dim=512, seeds=(1, 3, 5, 7)),
        loss=dict(type='BatchAllTripletLoss', margin=0.2, metric='similarity',
                  reduction='active')),
)
