# DROP ablation on Occluded-Duke (HRNet-W32, 256x128), Table 5 (part-averaged triplet of BPBreID
# on the current batch, no bank, plain part average; no spatial smoothing).
_base_ = ['./drop_hrnet32_2xb32_occluded_duke.py']

model = dict(
    head=dict(
        parsing_loss=dict(gamma=0.0),
        part_triplet_loss=dict(_delete_=True, type='PartAveragedTripletLoss', margin=0.3),
        train_visibility='none'))
