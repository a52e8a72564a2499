# GlobalPool of part awareness learning on MobileNetV2 (Fig. 7): BoT's MobileNetV2 base (the
# last stride-2 stage at stride 1: 256x128 -> 16x8 maps of 1280 channels), global max
# pooling, Em512, FC(C) (GlobalPoolHead's defaults are the paper's), and the PS head on the
# 1280-channel map for the +PS config.
_base_ = ['./bot_mobilenetv2.py']

model = dict(head=dict(_delete_=True, type='GlobalPoolHead', in_channels=1280, num_classes=751))
ps_head = dict(
    type='PartSegHead',
    in_channels=1280,
    num_classes=8,
    head_type='c',
    loss=dict(type='PartSegLoss', class_balanced=True, loss_weight=1.0))
