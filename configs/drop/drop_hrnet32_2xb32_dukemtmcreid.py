# DROP on DukeMTMC-reID: HRNet-W32 (ImageNet; the widened branches S1..S4), 256x128, K=5 parts
# (bpbreid5); PCT over a 4-batch memory bank, spatially smoothed parsing loss (lambda 0.4), PK
# 16x4 as 2 processes x 8 ids x 4 images (the bank holds 4 global batches), Adam 3.5e-4, 120
# epochs.
_base_ = [
    '../_base_/models/drop_hrnet32.py',
    '../_base_/datasets/dukemtmcreid_parts.py',
    '../_base_/schedules/drop_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=702, num_parts=5, part_scheme='bpbreid5'))
# 2 processes x 32 = the global batch of 64
train_dataloader = dict(
    batch_size=32,
    sampler=dict(batch_size=32))
