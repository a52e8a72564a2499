# VPM (6 x 1 regions, top crops) on the CPU comparison tier (configs/_base_/cpu_tier): the
# ImageNet MobileNetV2 at output stride 8, 192x64 input (24 x 8 maps, 4 rows per stripe), the
# synthetic set, 12 epochs. It differs from
# configs/baseline/bot_mobilenetv2os8_1xb64_synthetic_cpu.py only by the head and VPM's crop in
# place of the pad-crop. The tier's schedule, PK batch (16 x 4) and augmentation are kept: the
# two stages split its 12 epochs in halves (the triplet from epoch 6 on), without the paper's lr
# restart and stage-1 random sampler; the flip after the crop equals VPM's flip before it on a
# one-column grid, and random erasing is kept (VPM's paper uses none). Train with `--amp`
# (bfloat16 autocast on a CPU), as every tier model.
_base_ = ['../_base_/models/vpm_r50.py', '../_base_/cpu_tier/synthetic.py']

model = dict(
    backbone={{_base_.tier_backbone}},
    head=dict(in_channels={{_base_.tier_channels}}, num_classes={{_base_.num_classes}},
              grid=(6, 1)))
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale={{_base_.img_size}}),
    dict(type='VPMRandomCrop', crop_mode='top', ratio_range=(0.5, 1.0), grid=(6, 1),
         label_stride=8),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [
    dict(type='StageSwitchHook', stages=[dict(epoch=6, head=dict(enable_triplet=True))]),
]
