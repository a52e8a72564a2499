# Part-aligned bilinear model on CUHK03 (detected boxes), the classic protocol (Table 4):
# one of the 20 splits of 100 test ids, single-shot CMC averaged over random gallery draws;
# report the mean over split_index 0..19 (--cfg-options
# train_dataloader.dataset.split_index=K val_dataloader.dataset.split_index=K). The dataset
# trains on the 1260 ids outside the test split (the paper's 1160 training ids plus
# DeepReID's 100 validation ids).
_base_ = [
    '../_base_/models/part_bilinear_googlenet_openpose.py',
    '../_base_/datasets/cuhk03_classic.py',
    '../_base_/datasets/part_bilinear_160x80.py',
    '../_base_/schedules/part_bilinear_75k.py',
]

model = dict(head=dict(num_classes=1260))
train_dataloader = {{_base_.bilinear_train_loader}}
val_dataloader = {{_base_.bilinear_test_loader}}
test_dataloader = val_dataloader
