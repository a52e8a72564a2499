# K ablation (DROP Table 8; Occluded-Duke, HRNet-W32, 256x128): K=4 parts (bpbreid4). Labels:
# <data_root>/masks/bpbreid4/... (generate_part_labels.py --schemes bpbreid4).
_base_ = ['./drop_hrnet32_2xb32_occluded_duke.py']

part_scheme = 'bpbreid4'
model = dict(head=dict(num_parts=4, part_scheme=part_scheme))
train_dataloader = dict(dataset=dict(part_labels=dict(scheme=part_scheme)))
