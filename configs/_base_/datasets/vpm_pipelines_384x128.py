# VPM's pipelines at 384x128 (the ResNet-50 VPM configs): the holistic image is flipped,
# then cropped to a random ratio gamma ~ U(0.5, 1) of its height on one side and stretched
# back to 384x128 (VPMRandomCrop, region labels on the stride-16 grid). No pad-crop and no
# random erasing (vpm.md section 8). The names differ from the dataset bases' (mmengine
# refuses a key defined in two bases): a config lists this file beside its dataset base and
# binds them, e.g.
#   train_dataloader = dict(dataset=dict(pipeline={{_base_.vpm_train_pipeline}}))
vpm_img_size = (384, 128)  # (H, W)
vpm_train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=vpm_img_size),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='VPMRandomCrop', crop_mode='top', ratio_range=(0.5, 1.0), grid=(6, 1),
         label_stride=16),
    dict(type='PackReIDInputs'),
]
vpm_test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=vpm_img_size),
    dict(type='PackReIDInputs'),
]
