# BPBreID on P-DukeMTMC-reID: HRNet-W32 (ImageNet, fused at stride 4), 384x128,
# K=8 parts (bpbreid8); GiLt losses + body part attention loss (0.35), PK 16x4,
# Adam 3.5e-4, 120 epochs.
_base_ = [
    '../_base_/models/bpbreid_hrnet32.py',
    '../_base_/datasets/p_dukemtmc.py',
    '../_base_/schedules/bpbreid_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=665, num_parts=8, part_scheme='bpbreid8'))

img_size = (384, 128)  # (H, W)
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=10),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
