# PCB of part awareness learning (Fig. 5): ResNet-50 with last stride 1 (384x128 -> 24x8
# maps), 6 horizontal stripes of 4 rows, per stripe max pooling, its own Em256 and FC(C);
# the loss is the sum of the 6 cross-entropies; no RPP. Test: the 6 Em256 outputs, each
# L2-normalised, concatenated (1536-d; test_embeddings='stripes' gives 6 embeddings).
_base_ = ['./pal_globalpool_r50.py']

model = dict(
    head=dict(
        _delete_=True,
        type='PCBHead',
        in_channels=2048,
        num_classes=751,
        num_stripes=6,
        pool='max',
        embed_dim=256,
        loss_cls=dict(type='CrossEntropyLoss'),
        test_embeddings='concat',
        test_normalize=True))
