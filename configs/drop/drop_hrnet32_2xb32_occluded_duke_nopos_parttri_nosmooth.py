# DROP ablation on Occluded-Duke (HRNet-W32, 256x128), Table 9 'decoupled branches' (no position
# encoding, part-averaged triplet, no spatial smoothing).
_base_ = ['./drop_hrnet32_2xb32_occluded_duke.py']

model = dict(
    head=dict(
        parsing_loss=dict(gamma=0.0),
        position_encoding=None,
        part_triplet_loss=dict(_delete_=True, type='PartAveragedTripletLoss', margin=0.3),
        train_visibility='none'))
