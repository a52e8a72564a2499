# MGN of part awareness learning (Fig. 8). ResNet-50 shared up to conv4_1, each of the 3
# branches with its own copy of conv4_2..conv5 (same ImageNet weights), conv5 at stride 1 in
# every branch (384x128 -> three 2048x24x8 maps). Branch 1: global max pooling; branch 2:
# + 2 stripes; branch 3: + 3 stripes. The 3 global FC256 features f^j take the triplet loss
# (batch-hard, margin 0.1) and, through their classifiers, the CE; the 5 stripe Em256 the
# CE. L_ce is the mean of the 8 CEs, L_tri the mean over the branches.
# "Iteratively trained": even iterations optimise L_ce (+ lambda L_ps) at the scheduled lr,
# odd iterations L_tri (+ lambda L_ps) at 0.1 x the lr (0.1 / 0.01 in the paper); the
# joint fallback is `--cfg-options model.loss_phases=None` (L_ce + L_tri at every step).
# Test: the 8 features (2048-d), f(x) + f(flip(x)), L2-normalised as one vector.
# `ps_head`: one part segmentation head with shared weights on the 3 branch maps, its
# losses averaged.
_base_ = ['./pal_globalpool_r50.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='MultiBranchBackbone',
        split=('layer3', 1),
        num_branches=3,
        backbone={{_base_.model.backbone}}),  # BoT's ResNet-50, last stride 1
    head=dict(
        _delete_=True,
        type='MGNHead',
        in_channels=2048,
        num_classes=751,
        branch_stripes=(1, 2, 3),
        in_indices=(0, 1, 2),
        pool='max',
        embed_dim=256,
        global_embedding='fc',
        global_classifier='shared',
        loss_cls=dict(type='CrossEntropyLoss'),
        loss_triplet=dict(type='TripletLoss', margin=0.1),
        test_embeddings='concat',
        test_normalize=True),
    loss_phases=[
        dict(losses=['loss_ce', 'loss_ps'], lr_mult=1.0),
        dict(losses=['loss_tri', 'loss_ps'], lr_mult=0.1),
    ],
    test_cfg=dict(flip=True, flip_merge='sum'))
ps_head = dict(in_index=(0, 1, 2))
# the learning rate of the triplet steps; a phase leaves the other losses' layers unused
custom_hooks = [dict(type='LossPhaseLRHook')]
find_unused_parameters = True
