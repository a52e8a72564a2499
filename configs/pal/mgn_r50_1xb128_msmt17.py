# MGN-R50 (3 branches, 8 features; 384x128) on MSMT17:
# the baseline as part awareness learning re-implements it (pal.md 2.3, 5); its
# +PS version is mgn_ps_r50_1xb128_msmt17.py.
# PK batches of 16 ids x 8 images, flip + random erasing; SGD 0.1 (CE steps) / 0.01
# (triplet steps), warm-up 20 epochs, x0.1 at 140 and 180, 200 epochs; flip TTA.
_base_ = [
    '../_base_/models/pal_mgn_r50.py',
    '../_base_/datasets/msmt17.py',
    '../_base_/datasets/pal_pipelines.py',
    '../_base_/schedules/pal_mgn_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=1041))
train_dataloader = dict(
    batch_size=128,
    sampler={{_base_.pal_pk_sampler}},
    dataset=dict(pipeline={{_base_.pal_mgn_train_384x128}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.pal_test_384x128}}))
test_dataloader = val_dataloader
# cosine distance (pal.md 4); on the unit-length test embedding it ranks as the
# euclidean one
val_evaluator = dict(metric='cosine')
test_evaluator = val_evaluator
