# VPM on DukeMTMC-reID: as vpm_r50_1xb64_market1501.py (ResNet-50, 384x128, 6 x 1 regions, top
# crops, two stages), 702 training identities.
_base_ = [
    '../_base_/models/vpm_r50.py',
    '../_base_/datasets/dukemtmcreid.py',
    '../_base_/datasets/vpm_pipelines_384x128.py',
    '../_base_/schedules/vpm_2stage_130e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=702))
train_pipeline = {{_base_.vpm_train_pipeline}}
test_pipeline = {{_base_.vpm_test_pipeline}}
train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),  # stage 1
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
