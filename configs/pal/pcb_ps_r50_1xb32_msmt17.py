# PCB-R50 + PS on MSMT17: the baseline
# pcb_r50_1xb32_msmt17.py
# plus the training-only part segmentation head on the pal7 labels (type c, class-
# balanced CE, lambda = 1). The test graph and the published weights are the baseline's.
_base_ = ['./pcb_r50_1xb32_msmt17.py']

model = dict(aux_heads=dict(ps_head={{_base_.ps_head}}))
train_dataloader = dict(
    dataset=dict(
        part_labels={{_base_.pal_ps_labels}},
        pipeline={{_base_.pal_ps_train_384x128}}))
