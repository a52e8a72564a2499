# VPM on Market-1501, MVPM-2 (Table 3): the triplet compares all regions (no shared-region
# selection). Market-1501 is tested holistic; Partial-iLIDS with --cfg-options (see README.md).
_base_ = ['./vpm_r50_1xb64_market1501.py']

model = dict(head=dict(triplet_regions='all'))
