# The CPU comparison tier: every method of the zoo trained on the same footing on a 2-core
# CPU. The ImageNet MobileNetV2 (width 1.0) runs at output stride 8, so a 192x64 image gives
# 24x8 maps, the map size of ResNet-50 at 384x128 (PCB's 6 strips, VPM's 6 regions and
# MGN's 2 and 3 strips divide its 24 rows; every body part has cells of its own). Same
# augmentation, PK batch (16 ids x 4 images), Adam schedule and epochs for every method; a
# method's tier config changes only its head, losses and its own transforms
# (tests/test_configs/test_cpu_tier.py). Trained with `--amp` (bfloat16 autocast on a CPU).
# The ImageNet weights are the local file of ../shared/weights (torchvision key layout,
# converted on load); users point `pretrained` at their own copy.
_base_ = ['../default_runtime.py']

img_size = (192, 64)  # (H, W)
imagenet_mobilenetv2 = '../shared/weights/mobilenetv2_imagenet_torchvision_keys.pt'
# the tier's backbone, replacing the backbone of a method's model base
tier_backbone = dict(
    _delete_=True,
    type='MobileNetV2ReID',
    widen_factor=1.0,
    output_stride=8,
    out_indices=(7, ),
    pretrained=imagenet_mobilenetv2)
tier_channels = 1280
# the same backbone returning four stages, for multi-scale heads (DROP): layer2 (24 channels,
# stride 4: 48x16), layer3 (32, stride 8), layer5 (96, stride 8), the final conv (1280, 8)
tier_stages_backbone = dict(tier_backbone, out_indices=(1, 2, 4, 7))
tier_stage_channels = (24, 32, 96, 1280)

# the tier's pipelines; a method inserts its own steps (labels, crops) where it needs them
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=6),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
# the same with part labels, for the methods trained with them; maps where the label
# generator found no person are ignored
parts_train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel', empty_as_ignore=True),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=6),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PackReIDInputs'),
]
# the test pipeline with the part labels: opt-in, for validating the part maps of the
# methods that predict them (PartParsingMetric next to ReIDMetric, see docs/design.md).
# A method sets it as its val pipeline with the dataset's part_labels, val_evaluator to
# [val_evaluator, parsing_evaluator] and model.test_cfg.return_part_maps=True; the test
# pipeline and evaluator stay the tier's. Maps without a person are ignored, as in training.
parts_test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel', empty_as_ignore=True),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PackReIDInputs'),
]

batch_size = 64  # P x K = 16 identities x 4 images
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='IdentitySampler', num_instances=4, batch_size=batch_size),
    dataset=dict(mode='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(mode='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', metric='euclidean', protocol='auto')
test_evaluator = val_evaluator
# per-part IoU and mIoU of the predicted part maps (K and part names from the dataset's
# part_labels scheme), reported as parsing/* beside reid/*
parsing_evaluator = dict(type='PartParsingMetric')

# Adam 3.5e-4 (BoT / BPBreID), warm-up from 0.1x over the first two epochs
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=3.5e-4, betas=(0.9, 0.999), weight_decay=5e-4))
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=64)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=1, max_keep_ckpts=1))
