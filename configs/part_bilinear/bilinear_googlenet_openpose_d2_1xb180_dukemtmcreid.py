# DukeMTMC-reID "+ dilation" (Table 5): 20x10 maps, no pooling of the pose map.
_base_ = ['./bilinear_googlenet_openpose_1xb180_dukemtmcreid.py']

model = dict(backbone=dict(appearance=dict(dilation=2), part_align='none'))
