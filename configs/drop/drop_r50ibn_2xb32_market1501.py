# DROP on Market-1501: ResNet-50-IBN-a (ImageNet, last stride 1; C2..C5), 256x128, K=5 parts
# (bpbreid5); PCT over a 4-batch memory bank, spatially smoothed parsing loss (lambda 0.4), PK
# 16x4 as 2 processes x 8 ids x 4 images (the bank holds 4 global batches), Adam 3.5e-4, 120
# epochs.
_base_ = [
    '../_base_/models/drop_r50ibn.py',
    '../_base_/datasets/market1501_parts.py',
    '../_base_/schedules/drop_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=751, num_parts=5, part_scheme='bpbreid5'))
# 2 processes x 32 = the global batch of 64
train_dataloader = dict(
    batch_size=32,
    sampler=dict(batch_size=32))
