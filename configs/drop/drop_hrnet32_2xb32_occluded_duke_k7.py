# K ablation (DROP Table 8; Occluded-Duke, HRNet-W32, 256x128): K=7 parts (bpbreid7). Labels:
# <data_root>/masks/bpbreid7/... (generate_part_labels.py --schemes bpbreid7).
_base_ = ['./drop_hrnet32_2xb32_occluded_duke.py']

part_scheme = 'bpbreid7'
model = dict(head=dict(num_parts=7, part_scheme=part_scheme))
train_dataloader = dict(dataset=dict(part_labels=dict(scheme=part_scheme)))
