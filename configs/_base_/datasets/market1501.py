_base_ = ['./market_layout.py']

dataset_type = 'Market1501'
data_root = 'data/market1501'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
