# BPBreID-RN on Occluded-Duke (K=8) trained on the released PifPaf confidence fields
# instead of PNG label maps: LoadPifPafLabel reads the [36, h, w] fields of each training
# image from <data_root>/masks/pifpaf_maskrcnn_filtering/bounding_box_train/
# <image>.confidence_fields.npy (the release's naming), groups them into the 8 parts and
# thresholds them at 0.5; the geometric and erasing augmentations then move the labels.
_base_ = [
    '../_base_/models/bpbreid_r50.py',
    '../_base_/datasets/occluded_duke.py',
    '../_base_/schedules/bpbreid_120e.py',
    '../_base_/default_runtime.py',
]

part_scheme = 'bpbreid8'
model = dict(head=dict(num_classes=702, num_parts=8, part_scheme=part_scheme))

img_size = (256, 128)  # (H, W)
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(
        type='LoadPifPafLabel',
        scheme=part_scheme,
        mode='label',
        threshold=0.5,
        masks_dir='pifpaf_maskrcnn_filtering'),
    dict(type='ReIDResize', scale=img_size),
    dict(type='PadRandomCrop', padding=10),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
