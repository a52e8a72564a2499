_base_ = ['./market_layout.py']

dataset_type = 'OccludedDuke'
data_root = 'data/Occluded_Duke'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
