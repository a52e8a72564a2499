# The CPU tier on the CUHK03 "detected" set in Market layout (../shared/data; 543 training
# identities; 600 queries, 2277 gallery images): 6 epochs, lr x0.1 at epochs 4 and 5.
# Part labels of the methods that need them come from
#   python tools/dataset_converters/generate_part_labels.py ../shared/data/cuhk03_detected \
#       --backend mediapipe --schemes atoms13 --out-root <dir>
# (regrouped on load into each method's scheme); set `part_label_dir` with
#   --cfg-options train_dataloader.dataset.part_labels.label_dir=<dir> (absolute path).
_base_ = ['./common.py']

dataset_type = 'MarketFormatDataset'
data_root = '../shared/data/cuhk03_detected'
num_classes = 543
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2),
    dict(type='MultiStepLR', by_epoch=True, milestones=[4, 5], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=6, val_interval=6)
