# The authors' released BPBreID HRNet-W32 model for this dataset
# (bpbreid_occluded_duke_hrnet32_10670.pth), once converted by
#   python tools/model_converters/bpbreid_to_mmreidparts.py SRC DST
# (or tools/model_zoo.py convert): the paper config with the release's test-time behaviour
# (foreground pooled by masked GAP, argmax visibility, BN'd foreground embedding, each
# embedding L2-normalised) and K=8 parts (bpbreid8). For training, use the paper config.
_base_ = ['./bpbreid_hrnet32_1xb64_occluded_duke.py']

release_head = dict(
    fg_pooling='masked_gap', visibility_mode='argmax', test_foreground='bn', test_normalize=True)
model = dict(head=dict(num_parts=8, part_scheme='bpbreid8', **release_head))
train_dataloader = dict(dataset=dict(part_labels=dict(scheme='bpbreid8')))
