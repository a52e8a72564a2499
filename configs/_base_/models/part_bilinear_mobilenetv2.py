# Part-aligned bilinear model on MobileNetV2 streams (the CPU tier): the appearance stream is
# the tier's backbone (set by the tier configs), the part stream a light MobileNetV2 trunk
# (conv1 .. layer5, 96 channels, output stride 8: the 24x8 grid of a 192x64 image, like the
# appearance map), from ImageNet or from a pose-distillation checkpoint
# (tools/pretrain_part_stream.py). Both streams read the data preprocessor's ImageNet
# normalisation. Head and loss are the paper's (part_bilinear_googlenet_openpose.py).
_base_ = ['./part_bilinear_googlenet_openpose.py']

model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='TwoStreamBackbone',
        appearance=dict(type='MobileNetV2ReID', widen_factor=1.0, output_stride=8,
                        out_indices=(7, )),
        part=dict(type='MobileNetV2ReID', widen_factor=1.0, output_stride=8, out_indices=(4, ),
                  drop_unused_layers=True),
        appearance_norm='none',
        part_norm='none',
        part_align='none'),
    head=dict(app_channels=1280, part_channels=96))
