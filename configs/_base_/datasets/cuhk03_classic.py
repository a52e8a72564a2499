# CUHK03 with the classic protocol of DeepReID (detected boxes): split 0 of the 20 random
# splits, 1260 training ids, 100 test ids; protocol 'cuhk03_classic' (single-gallery-shot
# CMC averaged over 10 random gallery draws). Report the mean over split_index 0..19, e.g.
# --cfg-options train_dataloader.dataset.split_index=3 val_dataloader.dataset.split_index=3
# Layout: <data_root>/cuhk-03.mat (images are extracted next to it on first use).
_base_ = ['./market_layout.py']

dataset_type = 'CUHK03Classic'
data_root = 'data/cuhk03'
subset = 'detected'
split_index = 0
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, subset=subset,
                 split_index=split_index))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, subset=subset,
                 split_index=split_index))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='ReIDMetric', metric='euclidean', protocol='cuhk03_classic', topk=(1, 5, 10, 20),
    num_repeats=10)
test_evaluator = val_evaluator
