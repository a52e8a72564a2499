# Part-aligned bilinear model (GoogLeNet + OpenPose, no dilation) on DukeMTMC-reID, the
# paper's recipe (Table 5 "Proposed").
_base_ = [
    '../_base_/models/part_bilinear_googlenet_openpose.py',
    '../_base_/datasets/dukemtmcreid.py',
    '../_base_/datasets/part_bilinear_160x80.py',
    '../_base_/schedules/part_bilinear_75k.py',
]

model = dict(head=dict(num_classes=702))
train_dataloader = {{_base_.bilinear_train_loader}}
val_dataloader = {{_base_.bilinear_test_loader}}
test_dataloader = val_dataloader
