# Partial-REID (test only) for VPM trained on Market-1501 with bottom crops
# (vpm_r50_1xb64_market1501_bottom.py): the 300 partial images (queries) against the 300 holistic
# ones (gallery), nothing filtered (protocol 'all'), CMC rank-1 and rank-3 (Table 2). Train with
# the Market config, test its checkpoint with this one. Layout:
#   <data_root>/{partial_body_images,whole_body_images}/<pid>_<n>.jpg
_base_ = ['./vpm_r50_1xb64_market1501_bottom.py']

model = dict(test_cfg=dict(visibility='soft'))  # Eq. 4 needs VPM's soft visibility
test_dataloader = dict(
    dataset=dict(type='PartialREID', data_root='data/Partial_REID', mode='test'))
val_dataloader = test_dataloader
test_evaluator = dict(type='ReIDMetric', metric='euclidean', protocol='all', topk=(1, 3, 5, 10))
val_evaluator = test_evaluator
