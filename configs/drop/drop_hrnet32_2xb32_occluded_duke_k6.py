# K ablation (DROP Table 8; Occluded-Duke, HRNet-W32, 256x128): K=6 parts (bpbreid6). Labels:
# <data_root>/masks/bpbreid6/... (generate_part_labels.py --schemes bpbreid6).
_base_ = ['./drop_hrnet32_2xb32_occluded_duke.py']

part_scheme = 'bpbreid6'
model = dict(head=dict(num_parts=6, part_scheme=part_scheme))
train_dataloader = dict(dataset=dict(part_labels=dict(scheme=part_scheme)))
