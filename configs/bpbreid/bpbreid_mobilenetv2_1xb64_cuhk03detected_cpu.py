# BPBreID (K=5, bpbreid5) with an ImageNet MobileNetV2 on a CUHK03 "detected" set in Market
# layout, the part-based counterpart of
# configs/baseline/bot_mobilenetv2_1xb64_cuhk03detected_cpu.py: same backbone, ImageNet
# weights, input size (128x64 -> 8x4 maps), augmentation, optimizer, schedule (6 epochs)
# and batch. The flip swaps left/right part labels (none in K=5). Maps where the label
# generator found no person are ignored by the part loss.
# Part labels: generate them (atoms13, from which bpbreid5 is regrouped on load) with
#   python tools/dataset_converters/generate_part_labels.py <data_root> --schemes atoms13
# which writes <data_root>/masks/atoms13/...; for a read-only data root add
# --out-root <dir> and train with
#   --cfg-options train_dataloader.dataset.part_labels.label_dir=<dir>  (absolute path)
_base_ = [
    '../_base_/models/bpbreid_mobilenetv2.py',
    '../_base_/datasets/cuhk03_detected_market_layout.py',
    '../_base_/schedules/bpbreid_120e.py',
    '../_base_/default_runtime.py',
]

img_size = (128, 64)
model = dict(
    backbone=dict(
        init_cfg=None,
        pretrained='../shared/weights/mobilenetv2_imagenet_torchvision_keys.pt'),
    head=dict(in_channels=1280, num_classes=543, num_parts=5, part_scheme='bpbreid5'))

part_labels = dict(scheme='bpbreid5', source_scheme='atoms13', label_dir='masks')
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel', empty_as_ignore=True),  # no person found: no supervision
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=5),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(
    num_workers=2, dataset=dict(pipeline=train_pipeline, part_labels=part_labels))
val_dataloader = dict(num_workers=2, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2),
    dict(type='MultiStepLR', by_epoch=True, milestones=[4, 5], gamma=0.1),
]
train_cfg = dict(max_epochs=6, val_interval=3)
default_hooks = dict(logger=dict(interval=20))
