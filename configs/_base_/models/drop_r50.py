# DROP-RN: BoT's ResNet-50 (ImageNet, last stride 1) returning C2..C5 (256/512/1024/2048
# channels; 256x128 -> 64x32, 32x16, 16x8, 16x8) + the DROP head: P_reid = C5 upsampled
# to the C2 size (2048 x 64 x 32), the DPU over C2..C5 with the 1D position embedding for
# the parsing branch (K+1 classes), WAMP pooling of global / foreground / K parts to 512-d,
# BNNeck identity losses on global, foreground and concatenated parts, PCT over a 4-batch
# parts memory bank, spatially smoothed parsing loss (lambda 0.4). drop.md 8 defaults.
_base_ = ['./bot_r50.py']

model = dict(
    backbone=dict(out_indices=(0, 1, 2, 3)),
    head=dict(
        _delete_=True,
        type='DROPHead',
        in_channels=(256, 512, 1024, 2048),
        num_classes=702,
        num_parts=8,
        part_scheme='bpbreid8',
        in_indices=(0, 1, 2, 3),
        reid_map='last',
        reid_align_corners=True,
        parsing_channels=256,
        dpu_align_corners=False,
        position_encoding='1d',
        embed_dim=512,
        wamp='sum',
        visibility_threshold=0.4,
        mask_gradient=True,  # ReID losses reach the parsing branch through the masks
        train_visibility='label',
        id_weights=None,  # identity loss 1 on global, foreground, concatenated parts
        parsing_loss=dict(
            type='SmoothedParsingLoss', label_smoothing=0.1, gamma=0.5, loss_weight=0.4),
        id_loss=dict(type='CrossEntropyLoss', label_smoothing=0.1),
        # M = 4 batches of the global batch 64
        part_triplet_loss=dict(
            type='PartCompactnessTripletLoss', margin=0.3, bank_size=256, anchor_mode='all'),
        label_resize='nearest',
        test_embeddings=('foreground', 'parts'),
        test_foreground='bn',
        test_normalize=True),
)
