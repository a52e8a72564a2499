# MGN (part awareness learning) on the CPU comparison tier (configs/_base_/cpu_tier):
# the ImageNet MobileNetV2 at output stride 8, 192x64 input (24x8 maps),
# CUHK03 "detected", 6 epochs. It differs from
# configs/baseline/bot_mobilenetv2os8_1xb64_cuhk03detected_cpu.py only by
# the head (3 branches, 8 features, alternating CE / triplet steps,
# flip TTA) on the multi-branch MobileNetV2 (shared up to the first block of layer4).
# Train with `--amp` (bfloat16 autocast on a CPU), as every tier model.
_base_ = ['../_base_/models/pal_mgn_r50.py', '../_base_/cpu_tier/cuhk03.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='MultiBranchBackbone',
        split=('layer4', 1),
        num_branches=3,
        # the tier backbone (_base_.tier_backbone, less its _delete_ key)
        backbone=dict(
            type='MobileNetV2ReID',
            widen_factor=1.0,
            output_stride=8,
            out_indices=(7, ),
            pretrained={{_base_.imagenet_mobilenetv2}})),
    head=dict(in_channels={{_base_.tier_channels}}, num_classes={{_base_.num_classes}}))
# the part segmentation head of the +PS config, on the tier backbone's maps
ps_head = dict(in_channels={{_base_.tier_channels}})
