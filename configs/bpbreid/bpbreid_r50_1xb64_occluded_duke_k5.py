# K ablation (Occluded-Duke, ResNet-50, 256x128): K=5 parts (bpbreid5):
#   head, arms, torso, legs, feet.
# Labels: <data_root>/masks/bpbreid5/... (generate_part_labels.py --schemes bpbreid5).
_base_ = ['./bpbreid_r50_1xb64_occluded_duke.py']

part_scheme = 'bpbreid5'
model = dict(head=dict(num_parts=5, part_scheme=part_scheme))
train_dataloader = dict(dataset=dict(part_labels=dict(scheme=part_scheme)))
