# GlobalPool + PS on the CPU comparison tier: globalpool_mobilenetv2os8_1xb64_synthetic_cpu.py
# plus the training-only part segmentation head (type c, class-balanced CE, lambda = 1)
# on pal7 labels: the synthetic set's exact
# atoms13 maps, regrouped into pal7 on load.
# It differs from the BoT tier config only by the head, the PS head and the label loading.
# Train with `--amp`.
_base_ = ['./globalpool_mobilenetv2os8_1xb64_synthetic_cpu.py']

model = dict(aux_heads=dict(ps_head={{_base_.ps_head}}))
part_labels = dict(scheme='pal7', source_scheme='atoms13', label_dir='masks')
train_dataloader = dict(
    dataset=dict(pipeline={{_base_.parts_train_pipeline}}, part_labels=part_labels))
