# GlobalPool-R50 (global max pooling, Em512, FC; 256x128) on Market-1501:
# the baseline as part awareness learning re-implements it (pal.md 2.3, 5); its
# +PS version is globalpool_ps_r50_1xb32_market1501.py.
# Random batches of 32, flip only; SGD (0.01 backbone, 0.02 new layers), x0.1 at
# epochs 25 and 50, 60 epochs.
_base_ = [
    '../_base_/models/pal_globalpool_r50.py',
    '../_base_/datasets/market1501.py',
    '../_base_/datasets/pal_pipelines.py',
    '../_base_/schedules/pal_sgd_60e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=751))
train_dataloader = dict(
    batch_size=32,
    drop_last=True,
    sampler={{_base_.pal_random_sampler}},
    dataset=dict(pipeline={{_base_.pal_train_256x128}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.pal_test_256x128}}))
test_dataloader = val_dataloader
# cosine distance (pal.md 4); on the unit-length test embedding it ranks as the
# euclidean one
val_evaluator = dict(metric='cosine')
test_evaluator = val_evaluator
