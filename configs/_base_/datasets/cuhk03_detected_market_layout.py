# A CUHK03 "detected" set re-split into Market layout (any Market-format folder works).
_base_ = ['./market_layout.py']

dataset_type = 'MarketFormatDataset'
data_root = '../shared/data/cuhk03_detected'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
