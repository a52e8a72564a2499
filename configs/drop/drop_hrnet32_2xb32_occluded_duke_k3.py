# K ablation (DROP Table 8; Occluded-Duke, HRNet-W32, 256x128): K=3 parts (bpbreid3). Labels:
# <data_root>/masks/bpbreid3/... (generate_part_labels.py --schemes bpbreid3).
_base_ = ['./drop_hrnet32_2xb32_occluded_duke.py']

part_scheme = 'bpbreid3'
model = dict(head=dict(num_parts=3, part_scheme=part_scheme))
train_dataloader = dict(dataset=dict(part_labels=dict(scheme=part_scheme)))
