# DROP (K=8, the synthetic set's exact bpbreid8 labels) on the CPU comparison tier
# (configs/_base_/cpu_tier): the ImageNet MobileNetV2 at output stride 8, 192x64 input, 12
# epochs; the backbone returns four stages (48x16, 24x8, 24x8, 24x8), so P_reid and the
# parsing maps are 48x16. It differs from
# configs/bpbreid/bpbreid_mobilenetv2os8_1xb64_synthetic_cpu.py only by the head and its
# losses (and the stages the backbone returns); the flip swaps the left/right part labels.
# Train with `--amp`.
_base_ = ['../_base_/models/drop_r50.py', '../_base_/cpu_tier/synthetic.py']

model = dict(
    backbone={{_base_.tier_stages_backbone}},
    head=dict(in_channels={{_base_.tier_stage_channels}}, num_classes={{_base_.num_classes}},
              num_parts=8, part_scheme='bpbreid8', reid_map='last'),
    test_cfg=dict(return_part_maps=True))

# labels in atoms13 (the label generator's and the synthetic set's finest scheme), regrouped
part_labels = dict(scheme='bpbreid8', source_scheme='atoms13', label_dir='masks')
train_dataloader = dict(
    dataset=dict(pipeline={{_base_.parts_train_pipeline}}, part_labels=part_labels))
# validation also reports the parsing mIoU of the parsing maps against the same labels
# (missing label files are ignored maps); the test set and evaluator stay the tier's
val_dataloader = dict(
    dataset=dict(pipeline={{_base_.parts_test_pipeline}},
                 part_labels=dict(part_labels, optional=True)))
val_evaluator = [{{_base_.val_evaluator}}, {{_base_.parsing_evaluator}}]
