# VPM on Market-1501, MVPM-1 (Table 3): no visibility weighting at test, the plain mean over the
# regions. Test-time only: test the checkpoint of vpm_r50_1xb64_market1501.py with it.
# Market-1501 is tested holistic; Partial-iLIDS with --cfg-options (see README.md).
_base_ = ['./vpm_r50_1xb64_market1501.py']

model = dict(head=dict(test_visibility='uniform'))
