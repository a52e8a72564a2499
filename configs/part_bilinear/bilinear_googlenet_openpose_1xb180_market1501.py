# Part-aligned bilinear model (GoogLeNet + OpenPose, no dilation: 10x5 maps) on Market-1501,
# 160x80, 18 ids x 10 images, 75k iterations (the paper's Table 2 "Inception-V1, OpenPose").
_base_ = [
    '../_base_/models/part_bilinear_googlenet_openpose.py',
    '../_base_/datasets/market1501.py',
    '../_base_/datasets/part_bilinear_160x80.py',
    '../_base_/schedules/part_bilinear_75k.py',
]

model = dict(head=dict(num_classes=751))
train_dataloader = {{_base_.bilinear_train_loader}}
val_dataloader = {{_base_.bilinear_test_loader}}
test_dataloader = val_dataloader
