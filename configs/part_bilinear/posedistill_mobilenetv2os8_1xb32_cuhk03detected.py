# Pose distillation of the CPU tier's light part stream (ImageNet MobileNetV2 truncated after
# layer5, output stride 8: 96 channels on the 24x8 grid of a 192x64 image) on the CUHK03
# "detected" training images: linear read-outs of the label generator's atoms13 part labels
# and of Gaussian heat-maps of the 17 COCO keypoints it found (mediapipe pose), so that the
# stream starts the bilinear training knowing where the body parts are. Only the stream is
# kept: run it with tools/pretrain_part_stream.py, which writes part_stream.pth for
#   configs/part_bilinear/bilinear_posedistill_mobilenetv2os8_1xb64_cuhk03detected_cpu.py
# Labels and keypoints come from
#   python tools/dataset_converters/generate_part_labels.py ../shared/data/cuhk03_detected \
#       --backend mediapipe --schemes atoms13 --out-root <dir> --save-keypoints \
#       --keypoint-dir <dir>/keypoints
# (pretrain_part_stream.py --label-dir <dir> --keypoint-dir <dir>/keypoints). 350 iterations
# of 32 images (2.1 epochs of the 5300 training images), Adam, --amp: one step costs about
# 6 CPU-seconds in bfloat16, so the run takes about 20 minutes on two cores.
_base_ = ['../_base_/default_runtime.py']

img_size = (192, 64)  # (H, W): the tier's input, 24x8 maps at stride 8
data_root = '../shared/data/cuhk03_detected'
imagenet_mobilenetv2 = '../shared/weights/mobilenetv2_imagenet_torchvision_keys.pt'
part_stream = dict(
    type='MobileNetV2ReID',
    widen_factor=1.0,
    output_stride=8,
    out_indices=(4, ),
    drop_unused_layers=True,
    pretrained=imagenet_mobilenetv2)

model = dict(
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor'),  # ImageNet RGB, as the tier
    backbone=part_stream,
    head=dict(type='PoseDistillHead', in_channels=96, num_classes=543, num_parts=13,
              part_scheme='atoms13', heatmap_sigma=1.0, heatmap_weight=1.0))

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel', empty_as_ignore=True),
    dict(type='LoadKeypoints', keypoint_dir=None),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=6),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='MarketFormatDataset', data_root=data_root, mode='train',
        part_labels=dict(scheme='atoms13', label_dir='masks', optional=True),
        pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999),
                                    weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=350, eta_min=1e-5),
]
train_cfg = dict(by_epoch=False, max_iters=350, val_interval=100000)
val_cfg = None
val_dataloader = None
val_evaluator = None
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=350, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
