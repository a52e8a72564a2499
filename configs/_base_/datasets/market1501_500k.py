# Market-1501+500k: train on Market-1501, test with the 500k distractor images added to
# the gallery (pid 0, a camera no query has); protocol 'market'. num_distractors=None adds
# all of them; 100000 or 200000 give the paper's smaller galleries.
# Layout: Market-1501's folders plus <data_root>/bounding_box_test_500k/
_base_ = ['./market_layout.py']

dataset_type = 'Market1501'
data_root = 'data/market1501'
test_dataset_type = 'Market1501Distractors'
num_distractors = None
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    dataset=dict(type=test_dataset_type, data_root=data_root,
                 distractor_dir='bounding_box_test_500k', num_distractors=num_distractors))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', metric='euclidean', protocol='market')
test_evaluator = val_evaluator
