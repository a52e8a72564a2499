# BoT on the CPU comparison tier (configs/_base_/cpu_tier): the ImageNet MobileNetV2 at
# output stride 8, 192x64 input (24x8 maps), CUHK03 "detected" in Market layout, 6 epochs.
# Train with `--amp` (bfloat16 autocast on a CPU), as every tier model.
_base_ = ['../_base_/models/bot_mobilenetv2.py', '../_base_/cpu_tier/cuhk03.py']

model = dict(
    backbone={{_base_.tier_backbone}},
    head=dict(in_channels={{_base_.tier_channels}}, num_classes={{_base_.num_classes}}))
