# CUHK03-NP (new protocol, Zhong et al. CVPR 2017), hand-labelled boxes: 767 training
# ids, 700 test ids; protocol 'market'. Layout: <data_root>/labeled/{bounding_box_train,
# query,bounding_box_test}/ (the authors' cuhk03-np release).
_base_ = ['./market_layout.py']

dataset_type = 'CUHK03NP'
data_root = 'data/cuhk03-np'
subset = 'labeled'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, subset=subset))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, subset=subset))
test_dataloader = val_dataloader
val_evaluator = dict(type='ReIDMetric', metric='euclidean', protocol='market')
test_evaluator = val_evaluator
