# CUHK03 with the manually labelled boxes, classic protocol (Table 4).
_base_ = ['./bilinear_googlenet_openpose_1xb180_cuhk03detected.py']

train_dataloader = dict(dataset=dict(subset='labeled'))
val_dataloader = dict(dataset=dict(subset='labeled'))
test_dataloader = val_dataloader
