# DROP on Occluded-REID (half split): ResNet-50-IBN-a (ImageNet, last stride 1; C2..C5), 256x128,
# K=8 parts (bpbreid8); PCT over a 4-batch memory bank, spatially smoothed parsing loss (lambda
# 0.4), PK 16x4 as 2 processes x 8 ids x 4 images (the bank holds 4 global batches), Adam 3.5e-4,
# 120 epochs.
# DROP's Occluded-REID protocol (drop.md A15): 100 ids train, the other 100 test (occluded
# queries, whole-body gallery); another split_seed gives another random split. BPBreID's
# protocol (train on Market-1501, test on all 200 ids) is
# configs/bpbreid/bpbreid_hrnet32_1xb64_occluded_reid.py.
_base_ = [
    '../_base_/models/drop_r50ibn.py',
    '../_base_/datasets/occluded_reid.py',
    '../_base_/schedules/drop_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=100, num_parts=8, part_scheme='bpbreid8'))
# 2 processes x 32 = the global batch of 64
train_dataloader = dict(
    batch_size=32,
    sampler=dict(batch_size=32),
    dataset=dict(type='OccludedREID', data_root='data/Occluded_REID', mode='train',
                 split='half', split_seed=0))
val_dataloader = dict(dataset=dict(split='half', split_seed=0))
test_dataloader = val_dataloader
