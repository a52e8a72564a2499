# "+ dilation": no pooling before inception_4a and inception_4a-4e dilated by 2, so both
# streams give 20x10 maps and the pose map is not pooled (the paper's Table 2).
_base_ = ['./bilinear_googlenet_openpose_1xb180_market1501.py']

model = dict(backbone=dict(appearance=dict(dilation=2), part_align='none'))
