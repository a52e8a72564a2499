# VPM on Market-1501 with 3 x 2 regions (Fig. 5), crops from any side (top, bottom, left, right:
# the left/right full-height crops of an n > 1 grid); otherwise as vpm_r50_1xb64_market1501.py.
# The grid divides the 24 x 8 feature map.
_base_ = ['./vpm_r50_1xb64_market1501.py']

model = dict(head=dict(grid=(3, 2)))
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=(384, 128)),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='VPMRandomCrop', crop_mode='any', ratio_range=(0.5, 1.0), grid=(3, 2),
         label_stride=16),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
