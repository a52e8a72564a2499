# GlobalPool (part awareness learning) on the CPU comparison tier (configs/_base_/cpu_tier):
# the ImageNet MobileNetV2 at output stride 8, 192x64 input (24x8 maps),
# the synthetic set, 12 epochs. It differs from
# configs/baseline/bot_mobilenetv2os8_1xb64_synthetic_cpu.py only by
# the head (global max pooling, Em512, FC, cross-entropy).
# Train with `--amp` (bfloat16 autocast on a CPU), as every tier model.
_base_ = ['../_base_/models/pal_globalpool_r50.py', '../_base_/cpu_tier/synthetic.py']

model = dict(
    backbone={{_base_.tier_backbone}},
    head=dict(in_channels={{_base_.tier_channels}}, num_classes={{_base_.num_classes}}))
# the part segmentation head of the +PS config, on the tier backbone's maps
ps_head = dict(in_channels={{_base_.tier_channels}})
