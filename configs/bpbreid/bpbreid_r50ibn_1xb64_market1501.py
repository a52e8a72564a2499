# BPBreID on Market-1501: ResNet-50-IBN-a (ImageNet, last stride 1), 384x128,
# K=5 parts (bpbreid5); GiLt losses + body part attention loss (0.35), PK 16x4,
# Adam 3.5e-4, 120 epochs.
_base_ = [
    '../_base_/models/bpbreid_r50ibn.py',
    '../_base_/datasets/market1501_parts.py',
    '../_base_/datasets/parts_pipelines_384x128.py',
    '../_base_/schedules/bpbreid_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=751, num_parts=5, part_scheme='bpbreid5'))

img_size = {{_base_.img_size_384x128}}
train_pipeline = {{_base_.train_pipeline_384x128}}
test_pipeline = {{_base_.test_pipeline_384x128}}
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
