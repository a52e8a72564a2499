# DROP on Occluded-Duke: ResNet-50-IBN-a (ImageNet, last stride 1; C2..C5), 384x128, K=8 parts
# (bpbreid8); PCT over a 4-batch memory bank, spatially smoothed parsing loss (lambda 0.4), PK
# 16x4 as 2 processes x 8 ids x 4 images (the bank holds 4 global batches), Adam 3.5e-4, 120
# epochs.
_base_ = [
    '../_base_/models/drop_r50ibn.py',
    '../_base_/datasets/occluded_duke_parts.py',
    '../_base_/datasets/parts_pipelines_384x128.py',
    '../_base_/schedules/drop_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=702, num_parts=8, part_scheme='bpbreid8'))

img_size = {{_base_.img_size_384x128}}
train_pipeline = {{_base_.train_pipeline_384x128}}
test_pipeline = {{_base_.test_pipeline_384x128}}
train_dataloader = dict(
    batch_size=32,
    sampler=dict(batch_size=32),
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
