# Part-aligned bilinear model on the CPU comparison tier (configs/_base_/cpu_tier): appearance
# stream = the tier's ImageNet MobileNetV2 at output stride 8 (192x64 -> 24x8 maps), part
# stream = the light MobileNetV2 trunk (layer5, 96 channels) on the same 24x8 grid, here from
# ImageNet; CUHK03 "detected", 6 epochs. It differs from
# configs/baseline/bot_mobilenetv2os8_1xb64_cuhk03detected_cpu.py by the head, the loss
# (batch-all triplet only) and the part stream. Train with `--amp`, as every tier model.
_base_ = ['../_base_/models/part_bilinear_mobilenetv2.py', '../_base_/cpu_tier/cuhk03.py']

model = dict(
    backbone=dict(
        appearance={{_base_.tier_backbone}},
        part=dict(pretrained={{_base_.imagenet_mobilenetv2}})),
    head=dict(app_channels={{_base_.tier_channels}}, num_classes={{_base_.num_classes}}))
