# VPM (Visibility-aware Part Model): BoT's ResNet-50 (ImageNet, all conv layers, last
# stride 1: 384x128 -> 2048 x 24 x 8) with the VPM head in place of the BNNeck head: a
# 1x1-conv region locator over p = 6 x 1 regions, soft visibility scores, weighted region
# pooling, one identity classifier per region (2048 -> 256 -> K) on visible regions, the
# region-label loss and the region-selective triplet (margin 1). The triplet starts off:
# the two-stage schedule turns it on for the second stage (StageSwitchHook).
_base_ = ['./bot_r50.py']

model = dict(
    head=dict(
        _delete_=True,
        type='VPMHead',
        in_channels=2048,
        num_classes=751,
        grid=(6, 1),
        locator_bias=False,  # Eq. 1 has no bias
        dim_reduce=256,
        embedding='pooled',  # Eq. 3's f_i for the triplet and the test (or 'reduced')
        id_regions='visible',  # 'all': MVPM-3
        triplet_regions='shared',  # 'all': MVPM-2
        test_visibility='soft',  # 'uniform': MVPM-1
        enable_triplet=False,
        loss_region=dict(type='CrossEntropyLoss', loss_weight=1.0),
        loss_id=dict(type='CrossEntropyLoss', loss_weight=1.0),
        loss_triplet=dict(type='PartAveragedTripletLoss', margin=1.0, loss_weight=1.0)),
)
