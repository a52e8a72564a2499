# MARS (video): trained on frames (PK batches of identities), tested on tracklets: the
# frames of each test tracklet are embedded in batches and pooled by the metric
# (visibility-weighted mean of each embedding row, then L2 normalisation), queries against
# every test tracklet under the 'market' rule (MARS's evaluation code). No padding of the
# test sampler, so that no frame counts twice in distributed testing.
# Layout: <data_root>/bbox_train/, bbox_test/, info/ (name lists and track .mat files).
_base_ = ['./market_layout.py']

dataset_type = 'MARS'
data_root = 'data/mars'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, query_in_gallery=True))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='ReIDMetric', metric='euclidean', protocol='market', topk=(1, 5, 10, 20),
    tracklets=dict(normalize=True, visibility='max'))
test_evaluator = val_evaluator
