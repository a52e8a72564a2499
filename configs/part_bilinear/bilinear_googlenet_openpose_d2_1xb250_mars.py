# MARS "+ dilation" (Table 6).
_base_ = ['./bilinear_googlenet_openpose_1xb250_mars.py']

model = dict(backbone=dict(appearance=dict(dilation=2), part_align='none'))
