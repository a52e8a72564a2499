# BPBreID-RN: BoT's ResNet-50 model (ImageNet, last stride 1: 256x128 -> 2048 x 16 x 8)
# with the BPBreID head in place of the BNNeck head
# (body part attention, global-local pooling, 512-d reduction, BNNeck, GiLt losses).
# The head defaults to K=8 (occluded datasets); holistic datasets set K=5 / bpbreid5.
_base_ = ['./bot_r50.py']

model = dict(
    head=dict(
        _delete_=True,
        type='BPBreIDHead',
        in_channels=2048,
        num_classes=702,
        num_parts=8,
        part_scheme='bpbreid8',
        dim_reduce=512,
        fg_pooling='gwap',
        visibility_mode='threshold',
        visibility_threshold=0.4,
        gilt_weights=None,  # GiLt: id on global/foreground/concat, part-averaged triplet
        pa_loss=dict(type='BodyPartAttentionLoss', label_smoothing=0.1, loss_weight=0.35),
        id_loss=dict(type='CrossEntropyLoss', label_smoothing=0.1),
        triplet_loss=dict(type='TripletLoss', margin=0.3),
        part_triplet_loss=dict(type='PartAveragedTripletLoss', margin=0.3),
        label_resize='bilinear',
        test_foreground='bn',
        test_normalize=True),
)
