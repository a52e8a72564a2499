# K ablation (Occluded-Duke, ResNet-50, 256x128): K=6 parts (bpbreid6):
#   head, torso, right arm, left arm, legs, feet.
# Labels: <data_root>/masks/bpbreid6/... (generate_part_labels.py --schemes bpbreid6).
_base_ = ['./bpbreid_r50_1xb64_occluded_duke.py']

part_scheme = 'bpbreid6'
model = dict(head=dict(num_parts=6, part_scheme=part_scheme))
train_dataloader = dict(dataset=dict(part_labels=dict(scheme=part_scheme)))
