# BoT strong baseline (ResNet-50, last stride 1, BNNeck, label smoothing, triplet,
# random erasing, warm-up), 256x128, PK 16x4, 120 epochs.
_base_ = [
    '../_base_/models/bot_r50.py',
    '../_base_/datasets/dukemtmcreid.py',
    '../_base_/schedules/bot_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=702))
