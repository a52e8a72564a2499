# Part-aligned bilinear model on MARS (video, Table 6): trained on frames in batches of 25
# ids x 10 frames (the release's MARS batch of 250), tested on tracklets: every frame
# embedded, the descriptors of a tracklet averaged and L2-normalised by the metric, queries
# against all test tracklets (MARS's evaluation code). For a quick CPU check keep a few
# frames per tracklet: --cfg-options test_dataloader.dataset.frames_per_tracklet=4
_base_ = [
    '../_base_/models/part_bilinear_googlenet_openpose.py',
    '../_base_/datasets/mars.py',
    '../_base_/datasets/part_bilinear_160x80.py',
    '../_base_/schedules/part_bilinear_75k.py',
]

model = dict(head=dict(num_classes=625))
train_dataloader = {{_base_.bilinear_video_train_loader}}
val_dataloader = {{_base_.bilinear_test_loader}}
test_dataloader = val_dataloader
auto_scale_lr = dict(base_batch_size=250)
