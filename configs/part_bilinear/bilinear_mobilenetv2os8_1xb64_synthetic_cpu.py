# Part-aligned bilinear model on the CPU comparison tier, synthetic set, 12 epochs; part
# stream from ImageNet (see bilinear_mobilenetv2os8_1xb64_cuhk03detected_cpu.py).
_base_ = ['../_base_/models/part_bilinear_mobilenetv2.py', '../_base_/cpu_tier/synthetic.py']

model = dict(
    backbone=dict(
        appearance={{_base_.tier_backbone}},
        part=dict(pretrained={{_base_.imagenet_mobilenetv2}})),
    head=dict(app_channels={{_base_.tier_channels}}, num_classes={{_base_.num_classes}}))
