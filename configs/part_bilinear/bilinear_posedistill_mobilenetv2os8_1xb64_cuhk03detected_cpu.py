# The CUHK03 tier model with its part stream started from the pose distillation of
# configs/part_bilinear/posedistill_mobilenetv2os8_1xb32_cuhk03detected.py (the label
# generator's parts and keypoints distilled into the light MobileNetV2 trunk) instead of
# ImageNet. Point `part_stream_checkpoint` at the file tools/pretrain_part_stream.py wrote:
#   --cfg-options model.backbone.part.pretrained=<part_stream.pth>
_base_ = ['./bilinear_mobilenetv2os8_1xb64_cuhk03detected_cpu.py']

part_stream_checkpoint = 'work_dirs/posedistill_mobilenetv2os8_1xb32_cuhk03detected/' \
    'part_stream.pth'
model = dict(backbone=dict(part=dict(pretrained=part_stream_checkpoint)))
