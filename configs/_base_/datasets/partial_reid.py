# Partial-REID (test only): train on Market-1501, test the 300 partial images (queries,
# camid 0) against the 300 whole-body images (gallery, camid 1); protocol 'all' (nothing
# filtered); CMC rank-1 and rank-3 are the numbers papers report.
# Layout: <data_root>/{partial_body_images,whole_body_images}/<pid>_<n>.jpg
_base_ = ['./market_layout.py']

dataset_type = 'Market1501'
data_root = 'data/market1501'
test_dataset_type = 'PartialREID'
test_data_root = 'data/Partial_REID'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=test_dataset_type, data_root=test_data_root))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', metric='euclidean', protocol='all', topk=(1, 3, 5, 10))
test_evaluator = val_evaluator
