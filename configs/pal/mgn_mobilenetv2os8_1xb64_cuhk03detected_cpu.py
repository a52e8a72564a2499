# MGN (part awareness learning) on the CPU comparison tier (configs/_base_/cpu_tier):
# the ImageNet MobileNetV2 at output stride 8, 192x64 input (24x8 maps),
# CUHK03 "detected", 6 epochs. It differs from
# configs/baseline/bot_mobilenetv2os8_1xb64_cuhk03detected_cpu.py only by
# the head (3 branches, 8 features, alternating CE / triplet steps,
# flip TTA) on the multi-branch MobileNetV2 (shared up to the first block of layer4).
# Train with `--amp` (bfloat16 autocast on a CPU), as every tier model.
_base_ = ['../_base_/models/pal_mgn_mobilenetv2os8.py', '../_base_/cpu_tier/cuhk03.py']

model = dict(head=dict(num_classes={{_base_.num_classes}}))
