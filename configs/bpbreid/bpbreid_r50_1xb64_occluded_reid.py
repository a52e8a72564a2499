# BPBreID on Occluded-ReID
# (trained on Market-1501): ResNet-50 (ImageNet, last stride 1), 256x128,
# K=8 parts (bpbreid8); GiLt losses + body part attention loss (0.35), PK 16x4,
# Adam 3.5e-4, 120 epochs.
_base_ = [
    '../_base_/models/bpbreid_r50.py',
    '../_base_/datasets/occluded_reid.py',
    '../_base_/schedules/bpbreid_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=751, num_parts=8, part_scheme='bpbreid8'))
