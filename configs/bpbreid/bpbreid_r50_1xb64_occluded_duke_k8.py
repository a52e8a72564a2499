# K ablation (Occluded-Duke, ResNet-50, 256x128): K=8 parts (bpbreid8):
#   head, left/right arm, torso, left/right leg, left/right foot.
# K=8 is the default of bpbreid_r50_1xb64_occluded_duke.py; this file names it in the
# ablation series.
_base_ = ['./bpbreid_r50_1xb64_occluded_duke.py']
