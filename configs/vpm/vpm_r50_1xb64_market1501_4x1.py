# VPM on Market-1501 with p = 4 stripes (Fig. 4); otherwise as vpm_r50_1xb64_market1501.py. The
# grid divides the 24 x 8 feature map.
_base_ = ['./vpm_r50_1xb64_market1501.py']

model = dict(head=dict(grid=(4, 1)))
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=(384, 128)),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='VPMRandomCrop', crop_mode='top', ratio_range=(0.5, 1.0), grid=(4, 1),
         label_stride=16),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
