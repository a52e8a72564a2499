# VPM on Market-1501, MVPM-3 (Table 3): the identity loss on all regions, visible or not.
# Market-1501 is tested holistic; Partial-iLIDS with --cfg-options (see README.md).
_base_ = ['./vpm_r50_1xb64_market1501.py']

model = dict(head=dict(id_regions='all'))
