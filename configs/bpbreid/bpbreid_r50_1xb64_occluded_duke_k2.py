# K ablation (Occluded-Duke, ResNet-50, 256x128): K=2 parts (bpbreid2):
#   upper body, lower body.
# Labels: <data_root>/masks/bpbreid2/... (generate_part_labels.py --schemes bpbreid2).
_base_ = ['./bpbreid_r50_1xb64_occluded_duke.py']

part_scheme = 'bpbreid2'
model = dict(head=dict(num_parts=2, part_scheme=part_scheme))
train_dataloader = dict(dataset=dict(part_labels=dict(scheme=part_scheme)))
