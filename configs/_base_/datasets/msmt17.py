# MSMT17 (V1, or V2 when <data_root>/mask_train_v2/ exists): 1041 training ids (train +
# val lists), 3060 test ids, 15 cameras; protocol 'market'.
# Layout: <data_root>/{train,test}/ (V2: mask_train_v2/, mask_test_v2/) and
# <data_root>/list_{train,val,query,gallery}.txt
_base_ = ['./market_layout.py']

dataset_type = 'MSMT17'
data_root = 'data/msmt17'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, combine_train_val=True))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', metric='euclidean', protocol='market')
test_evaluator = val_evaluator
