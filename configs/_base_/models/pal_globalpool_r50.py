# GlobalPool of part awareness learning (PAL, Fig. 4): ResNet-50 with last stride 1
# (256x128 -> 16x8 maps), global max pooling, Em512 (Linear-BN-ReLU), FC(C), cross-entropy.
# Test: the Em512 output, L2-normalised.
# `ps_head` is the training-only part segmentation head (type c: 3x3 deconv stride 2 to 256
# channels, BN, ReLU, 1x1 conv to the 8 pal7 classes; class-balanced CE, lambda = 1) that
# the "+PS" configs add as `model.aux_heads.ps_head`.
_base_ = ['./bot_r50.py']  # its data preprocessor and ResNet-50 (last stride 1)

model = dict(
    head=dict(
        _delete_=True,
        type='GlobalPoolHead',
        in_channels=2048,
        num_classes=751,
        pool='max',
        embed_dim=512,
        loss_cls=dict(type='CrossEntropyLoss'),
        test_normalize=True),
)
ps_head = dict(
    type='PartSegHead',
    in_channels=2048,
    num_classes=8,
    head_type='c',
    mid_channels=256,
    loss=dict(type='PartSegLoss', class_balanced=True, loss_weight=1.0))
