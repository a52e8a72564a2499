# CUHK01 with 486 test ids (Table 4): fine-tuned from the CUHK03 (detected) model on the
# other 485 ids. The paper gives no fine-tuning schedule; the recipe's is used. Set
# `load_from` to the CUHK03 checkpoint (the bilinear head has no classifier, so every
# tensor carries over).
_base_ = [
    '../_base_/models/part_bilinear_googlenet_openpose.py',
    '../_base_/datasets/cuhk01.py',
    '../_base_/datasets/part_bilinear_160x80.py',
    '../_base_/schedules/part_bilinear_75k.py',
]

model = dict(head=dict(num_classes=485))
train_dataloader = {{_base_.bilinear_train_loader}}
val_dataloader = {{_base_.bilinear_test_loader}}
test_dataloader = val_dataloader
load_from = 'work_dirs/bilinear_googlenet_openpose_1xb180_cuhk03detected/iter_75000.pth'
