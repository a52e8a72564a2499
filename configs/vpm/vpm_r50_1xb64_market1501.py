# VPM on Market-1501 (the paper's main model, "VPM (Top crop)"): ResNet-50, 384x128, 6 x 1
# regions, top crops with gamma ~ U(0.5, 1); stage 1 (50 epochs) cross-entropy only on 64 random
# images, stage 2 (80 epochs) + the region-selective triplet on 8 x 8 PK batches; SGD lr 0.1
# restarted per stage. Holistic test (gamma = 1).
_base_ = [
    '../_base_/models/vpm_r50.py',
    '../_base_/datasets/market1501.py',
    '../_base_/datasets/vpm_pipelines_384x128.py',
    '../_base_/schedules/vpm_2stage_130e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=751))
train_pipeline = {{_base_.vpm_train_pipeline}}
test_pipeline = {{_base_.vpm_test_pipeline}}
train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),  # stage 1
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
