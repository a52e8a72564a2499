# VPM on Market-1501, "VPM, no triplet" (Table 3): the same 130 epochs (sampler switch and lr
# restart at epoch 50 kept), the triplet never turned on. Market-1501 is tested holistic;
# Partial-iLIDS with --cfg-options (see README.md).
_base_ = ['./vpm_r50_1xb64_market1501.py']

custom_hooks = [
    dict(type='StageSwitchHook', stages=[
        dict(epoch=50, train_dataloader=dict(sampler={{_base_.vpm_stage2_sampler}})),
    ]),
]
