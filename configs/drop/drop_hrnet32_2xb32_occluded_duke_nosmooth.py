# DROP ablation on Occluded-Duke (HRNet-W32, 256x128), Table 4 / 5 (PCT, no spatial smoothing):
# gamma = 0.
_base_ = ['./drop_hrnet32_2xb32_occluded_duke.py']

model = dict(
    head=dict(
        parsing_loss=dict(gamma=0.0)))
