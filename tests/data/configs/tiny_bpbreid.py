# A tiny BPBreID model (K=8) on a tiny synthetic set, for the deployment tests: test-time
# flip with the left/right part embeddings swapped, so that export covers the flip.
_base_ = ['../../../configs/bpbreid/bpbreid_mobilenetv2_1xb64_synthetic.py']

img_size = (64, 32)
model = dict(
    backbone=dict(widen_factor=0.25),
    head=dict(num_classes=8, dim_reduce=16),
    test_cfg=dict(flip=True, flip_pairs=[('l_arm', 'r_arm'), ('l_leg', 'r_leg'),
                                         ('l_foot', 'r_foot')]))
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PackReIDInputs'),
]
val_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
