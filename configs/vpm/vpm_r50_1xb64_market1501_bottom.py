# VPM on Market-1501 with bottom crops (keep the lower gamma of the height) instead of top crops:
# "VPM (Bottom crop)" of Table 2, tested on Partial-REID and Partial-iLIDS with
# vpm_r50_1xb64_partial_reid_bottom.py / vpm_r50_1xb64_partial_ilids_bottom.py.
_base_ = ['./vpm_r50_1xb64_market1501.py']

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=(384, 128)),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='VPMRandomCrop', crop_mode='bottom', ratio_range=(0.5, 1.0), grid=(6, 1),
         label_stride=16),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
