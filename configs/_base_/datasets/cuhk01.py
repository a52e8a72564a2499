# CUHK01 (CUHK Campus): 485 training ids, 486 test ids drawn with split_seed; queries are
# the camera-A images, the gallery the camera-B images; protocol 'cuhk03_classic'
# (single-gallery-shot CMC averaged over 10 random gallery draws).
# Layout: <data_root>/campus/PPPPCCC.png
_base_ = ['./market_layout.py']

dataset_type = 'CUHK01'
data_root = 'data/cuhk01'
num_test_ids = 486
split_seed = 0
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, num_test_ids=num_test_ids,
                 split_seed=split_seed))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, num_test_ids=num_test_ids,
                 split_seed=split_seed))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='ReIDMetric', metric='euclidean', protocol='cuhk03_classic', topk=(1, 5, 10, 20),
    num_repeats=10)
test_evaluator = val_evaluator
