# Part-aligned bilinear representations (Suh et al., ECCV 2018): an appearance stream (BVLC
# GoogLeNet to inception_4e, 832 channels) and a part stream (OpenPose COCO body model to the
# end of stage 2, the 185-channel concat, 2x2 max-pooled onto the 10x5 appearance grid), each
# embedded by conv + BN without affine (1x1 -> 512, 3x3 -> 128), compact bilinear pooling
# (Tensor Sketch, d = 512, the release's numpy seeds 1, 3, 5, 7), L2 normalisation; trained
# with the batch-all triplet loss (margin 0.2 on inner products, divided by the active
# triplets). The data preprocessor passes raw BGR 0-255 images and each stream normalises
# its copy (GoogLeNet: minus the Caffe mean; OpenPose: / 256 - 0.5).
# ImageNet / COCO initialisation: the commonly shared PyTorch conversions of the Caffe models,
# bvlc_googlenet.caffemodel.pth and pose_iter_440000.caffemodel.pth (CMU COCO body model;
# pytorch-openpose's body_pose_model.pth has the same layer names), under pretrained/ or set
#   --cfg-options model.backbone.appearance.pretrained=... model.backbone.part.pretrained=...
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor', mean=None, std=None, to_rgb=False),
    backbone=dict(
        type='TwoStreamBackbone',
        appearance=dict(
            type='GoogLeNetBVLC', dilation=1,
            pretrained='pretrained/bvlc_googlenet.caffemodel.pth'),
        part=dict(type='OpenPoseTrunk', pretrained='pretrained/pose_iter_440000.caffemodel.pth'),
        appearance_norm='bvlc',
        part_norm='openpose',
        part_align='max2x2',
        freeze_part=False),
    head=dict(
        type='PartBilinearHead',
        app_channels=832,
        part_channels=185,
        num_classes=751,
        app_dim=512,
        part_dim=128,
        part_relu=False,
        pooling=dict(type='CompactBilinearPooling', output_dim=512, seeds=(1, 3, 5, 7)),
        loss=dict(type='BatchAllTripletLoss', margin=0.2, metric='similarity',
                  reduction='active')),
)
