# Data settings of the part-aligned bilinear recipe, merged into a dataset config's loaders:
# images resized to 160x80 (no crop) and flipped at random, nothing else; PK batches of 18
# identities x 10 images (identities with fewer images are sampled with replacement).
bilinear_img_size = (160, 80)  # (H, W)
bilinear_batch_size = 180
bilinear_train_loader = dict(
    batch_size=bilinear_batch_size,
    sampler=dict(type='IdentitySampler', num_instances=10, batch_size=bilinear_batch_size),
    dataset=dict(pipeline=[
        dict(type='LoadReIDImage'),
        dict(type='ReIDResize', scale=bilinear_img_size),
        dict(type='ReIDRandomFlip', prob=0.5),
        dict(type='PackReIDInputs'),
    ]))
bilinear_test_loader = dict(dataset=dict(pipeline=[
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', scale=bilinear_img_size),
    dict(type='PackReIDInputs'),
]))
# the release's MARS batch: 25 ids x 10 frames
bilinear_video_train_loader = dict(
    bilinear_train_loader, batch_size=250,
    sampler=dict(type='IdentitySampler', num_instances=10, batch_size=250))
