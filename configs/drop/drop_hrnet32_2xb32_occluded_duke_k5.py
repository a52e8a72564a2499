# K ablation (DROP Table 8; Occluded-Duke, HRNet-W32, 256x128): K=5 parts (bpbreid5). Labels:
# <data_root>/masks/bpbreid5/... (generate_part_labels.py --schemes bpbreid5).
_base_ = ['./drop_hrnet32_2xb32_occluded_duke.py']

part_scheme = 'bpbreid5'
model = dict(head=dict(num_parts=5, part_scheme=part_scheme))
train_dataloader = dict(dataset=dict(part_labels=dict(scheme=part_scheme)))
