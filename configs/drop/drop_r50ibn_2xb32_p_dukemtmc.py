# DROP on P-DukeMTMC-reID: ResNet-50-IBN-a (ImageNet, last stride 1; C2..C5), 256x128, K=8 parts
# (bpbreid8); PCT over a 4-batch memory bank, spatially smoothed parsing loss (lambda 0.4), PK
# 16x4 as 2 processes x 8 ids x 4 images (the bank holds 4 global batches), Adam 3.5e-4, 120
# epochs.
_base_ = [
    '../_base_/models/drop_r50ibn.py',
    '../_base_/datasets/p_dukemtmc.py',
    '../_base_/schedules/drop_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=665, num_parts=8, part_scheme='bpbreid8'))
# 2 processes x 32 = the global batch of 64
train_dataloader = dict(
    batch_size=32,
    sampler=dict(batch_size=32))
