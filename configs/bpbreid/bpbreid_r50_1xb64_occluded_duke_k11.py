# K ablation (Occluded-Duke, ResNet-50, 256x128): K=11 parts (bpbreid11):
#   head, upper/lower torso, upper/lower right arm, upper/lower left arm, right/left leg,
#   right/left foot.
# Labels: <data_root>/masks/bpbreid11/... (generate_part_labels.py --schemes bpbreid11).
_base_ = ['./bpbreid_r50_1xb64_occluded_duke.py']

part_scheme = 'bpbreid11'
model = dict(head=dict(num_parts=11, part_scheme=part_scheme))
train_dataloader = dict(dataset=dict(part_labels=dict(scheme=part_scheme)))
