# Data of part awareness learning (pal.md 5), listed beside a dataset base (the names differ
# from the dataset bases': mmengine refuses a key defined in two bases) and bound by the
# configs, e.g. train_dataloader = dict(dataset=dict(pipeline={{_base_.pal_train_256x128}})).
# GlobalPool and PCB: random batches of 32, horizontal flip only. MGN: PK batches of 16 ids
# x 8 images, flip and random erasing (p 0.5, area 0.02-0.4, aspect 0.3-3.3, mean fill);
# erasing keeps the part labels (seg_fill=None: the model infers the parts under the
# occluder; 0 would make them background, as the MGN+PS release does, 255 ignored).
# Part labels (+PS): pal7 PNGs at <data_root>/masks/pal7/<split dir>/<image stem>.png
# (e.g. the 7-part labels released with EANet), nearest-resized with the image; a flip
# needs no class swap. Coarser granularities (Table VI): regroup on load with
# part_labels=dict(scheme='pal4' | 'pal2' | 'pal1', source_scheme='pal7', ...) and set the
# PS head's num_classes to 5, 3 or 2.
pal_ps_labels = dict(scheme='pal7', label_dir='masks')
pal_random_sampler = dict(_delete_=True, type='DefaultSampler', shuffle=True)
pal_pk_sampler = dict(type='IdentitySampler', num_instances=8, batch_size=128)

pal_train_256x128 = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=(256, 128)),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='PackReIDInputs'),
]
pal_ps_train_256x128 = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel'),
    dict(type='ReIDResize', scale=(256, 128)),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='PackReIDInputs'),
]
pal_train_384x128 = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=(384, 128)),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='PackReIDInputs'),
]
pal_ps_train_384x128 = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel'),
    dict(type='ReIDResize', scale=(384, 128)),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='PackReIDInputs'),
]
pal_mgn_train_384x128 = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=(384, 128)),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='RandomErasing', prob=0.5, seg_fill=None),
    dict(type='PackReIDInputs'),
]
pal_mgn_ps_train_384x128 = [
    dict(type='LoadReIDImage'),
    dict(type='LoadPartLabel'),
    dict(type='ReIDResize', scale=(384, 128)),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='RandomErasing', prob=0.5, seg_fill=None),
    dict(type='PackReIDInputs'),
]
pal_test_256x128 = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=(256, 128)),
    dict(type='PackReIDInputs'),
]
pal_test_384x128 = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=(384, 128)),
    dict(type='PackReIDInputs'),
]
