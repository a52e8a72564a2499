# Pipelines of the part-labelled datasets at 384x128 (the ResNet-50-IBN and HRNet-W32 BPBreID
# configs): zero-pad 10 + random crop, random erasing (erased labels become background), no
# flip. The names differ from the dataset bases' (mmengine refuses a key defined in two
# bases): a config lists this file beside its dataset base and binds them, e.g.
#   train_pipeline = {{_base_.train_pipeline_384x128}}
#   train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
img_size_384x128 = (384, 128)  # (H, W)
train_pipeline_384x128 = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel'),
    dict(type='ReIDResize', scale=img_size_384x128),
    dict(type='PadRandomCrop', padding=10),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline_384x128 = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=img_size_384x128),
    dict(type='PackReIDInputs'),
]
