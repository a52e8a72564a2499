# K ablation (Occluded-Duke, ResNet-50, 256x128): K=1 parts (bpbreid1):
#   foreground.
# Labels: <data_root>/masks/bpbreid1/... (generate_part_labels.py --schemes bpbreid1).
_base_ = ['./bpbreid_r50_1xb64_occluded_duke.py']

part_scheme = 'bpbreid1'
model = dict(head=dict(num_parts=1, part_scheme=part_scheme))
train_dataloader = dict(dataset=dict(part_labels=dict(scheme=part_scheme)))
