# MGN of part awareness learning on the CPU tier's backbone (configs/_base_/cpu_tier): the
# ImageNet MobileNetV2 at output stride 8, shared up to layer4.1 (the first block of its
# stride-16 stage, as ResNet-50 is shared up to conv4_1), then 3 branches with their own
# copies of layer4.2..conv2 (same ImageNet weights): three 1280x24x8 maps at 192x64.
# The inner backbone is the tier's (tests/test_configs/test_cpu_tier.py checks it).
_base_ = ['./pal_mgn_r50.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='MultiBranchBackbone',
        split=('layer4', 1),
        num_branches=3,
        backbone=dict(
            type='MobileNetV2ReID',
            widen_factor=1.0,
            output_stride=8,
            out_indices=(7, ),
            pretrained='../shared/weights/mobilenetv2_imagenet_torchvision_keys.pt')),
    head=dict(in_channels=1280))
ps_head = dict(in_channels=1280)
