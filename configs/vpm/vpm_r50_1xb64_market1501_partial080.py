# VPM's synthetic partial Market-1501 (Table 1, gamma = 0.8): every query is cut to its top 80 %
# (full width) in memory (PartialQueryCrop, the box of make_partial_queries.py) and resized to
# 384x128; the gallery stays holistic. Test the checkpoint of vpm_r50_1xb64_market1501.py with
# it; tools/analysis_tools/partial_curve.py runs every gamma in one go.
_base_ = ['./vpm_r50_1xb64_market1501.py']

model = dict(test_cfg=dict(visibility='soft'))
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadReIDImage'),
        dict(type='PartialQueryCrop', ratio=0.8, side='top'),
        dict(type='ReIDResize', scale=(384, 128)),
        dict(type='PackReIDInputs'),
    ]))
val_dataloader = test_dataloader
