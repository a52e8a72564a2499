"""VPM head: locator, visibility, weighted pooling, region losses and predict (vpm.md §10)."""
import numpy as np
import pytest
import torch

from mmreidparts.evaluation.functional.part_distance import part_distance
from mmreidparts.models.heads.vpm_head import IGNORE, VPMHead
from mmreidparts.models.utils import weighted_average_pool
from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample
from mmreidparts.structures.region_grid import region_boxes_after_crop, side_crop_box

C, H, W = 8, 24, 8  # feature map of a 192 x 64 input at stride 8
IMG = (192, 64)


def make_head(**kwargs) -> VPMHead:
    cfg = dict(type='VPMHead', in_channels=C, num_classes=3, grid=(6, 1), dim_reduce=4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def make_sample(label: int, ratio: float = 1.0, side: str = 'top', grid=(6, 1),
                img=IMG) -> ReIDDataSample:
    box = side_crop_box(img[0], img[1], ratio, side)
    boxes = region_boxes_after_crop(grid, img, box, img)
    sample = ReIDDataSample(metainfo=dict(img_shape=img)).set_gt_label(label)
    sample.set_field(torch.as_tensor(boxes, dtype=torch.float32), 'region_boxes',
                     dtype=torch.Tensor)
    return sample


def make_batch(ratios=(1.0, 0.75, 0.6, 0.8, 0.55, 0.7), labels=(0, 0, 1, 1, 2, 2)):
    return [make_sample(y, r) for y, r in zip(labels, ratios)]


def feats(num: int = 6, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(num, C, H, W, generator=gen), )


def block_features(labels: torch.Tensor, scale: float = 50.0) -> torch.Tensor:
    """Maps whose first p channels are ``scale`` x the one-hot region labels, rest random."""
    num, p = labels.shape[0], 6
    x = torch.randn(num, C, H, W, generator=torch.Generator().manual_seed(3))
    x[:, :p] = scale * torch.nn.functional.one_hot(labels.clamp(min=0), p).permute(0, 3, 1, 2)
    return x


def identity_locator(head: VPMHead) -> None:
    """Locator weights reading the region channels of :func:`block_features`."""
    with torch.no_grad():
        head.locator.conv.weight.zero_()
        for i in range(head.num_regions):
            head.locator.conv.weight[i, i] = 1.0


def test_worked_example_label_map_on_the_feature_grid():
    # 384 x 128, top crop 0.75, 6 x 1, stride 16 -> rows 0-4, 5-10, 11-15, 16-20, 21-23
    head = make_head()
    sample = make_sample(0, 0.75, img=(384, 128))
    labels, visible = head.region_targets([sample], (24, 8), torch.device('cpu'))
    rows = labels[0, :, 0].tolist()
    assert (labels[0] == labels[0, :, :1]).all()
    assert rows == [0] * 5 + [1] * 6 + [2] * 5 + [3] * 5 + [4] * 3
    assert visible[0].tolist() == [True] * 5 + [False]
    # no crop: 4 rows per stripe; a 3 x 2 grid: 8 x 4 blocks
    labels, visible = head.region_targets([make_sample(0, 1.0)], (H, W), torch.device('cpu'))
    assert labels[0, :, 0].tolist() == sum(([i] * 4 for i in range(6)), [])
    head32 = make_head(grid=(3, 2))
    labels, _ = head32.region_targets([make_sample(0, 1.0, grid=(3, 2))], (H, W),
                                      torch.device('cpu'))
    expected = np.repeat(np.repeat(np.arange(6).reshape(3, 2), 8, axis=0), 4, axis=1)
    np.testing.assert_array_equal(labels[0].numpy(), expected)


def test_shapes_softmax_and_scores():
    head = make_head()
    out = head(feats())
    assert out['region_maps'].shape == (6, 6, H, W)
    assert out['scores'].shape == (6, 6) and out['features'].shape == (6, 6, C)
    assert out['part_maps'].shape == (6, 7, H, W) and (out['part_maps'][:, 0] == 0).all()
    assert torch.allclose(out['region_maps'].sum(dim=1), torch.ones(6, H, W), atol=1e-6)
    assert torch.allclose(out['scores'].sum(dim=1), torch.full((6, ), float(H * W)))
    assert torch.allclose(out['visibility'].amax(dim=1), torch.ones(6))
    assert (out['visibility'] >= 0).all()


def test_weighted_pooling_with_block_maps_is_the_block_mean():
    head = make_head()
    labels, _ = head.region_targets([make_sample(0, 0.75)], (H, W), torch.device('cpu'))
    x = block_features(labels)
    identity_locator(head)
    out = head((x, ))
    for i in range(5):  # region 5 is not shown
        block = labels[0] == i
        assert torch.allclose(out['features'][0, i], x[0][:, block].mean(dim=1), atol=1e-4)
    # invisible region: a score near 0 and a visibility near 0
    assert out['scores'][0, 5] < 1e-6 and out['visibility'][0, 5] < 1e-6
    # a constant map pools to itself; scaling a probability map leaves f_i unchanged
    const = torch.full((1, C, H, W), 2.5)
    assert torch.allclose(head((const, ))['features'], torch.full((1, 6, C), 2.5), atol=1e-5)
    maps = torch.rand(1, 6, H, W)
    assert torch.allclose(weighted_average_pool(x[:1], 7.0 * maps),
                          weighted_average_pool(x[:1], maps), atol=1e-5)


def test_locator_loss_vanishes_for_confident_correct_logits():
    head = make_head()
    samples = make_batch()
    labels, _ = head.region_targets(samples, (H, W), torch.device('cpu'))
    assert (labels != IGNORE).all()  # every cell has a label: L_R ignores nothing
    identity_locator(head)
    losses = head.loss((block_features(labels, scale=60.0), ), samples)
    assert losses['loss_region'].item() < 1e-6
    assert losses['region_acc'].item() == 100.0
    # uniform logits: log p
    with torch.no_grad():
        head.locator.conv.weight.zero_()
    losses = head.loss(feats(), samples)
    assert losses['loss_region'].item() == pytest.approx(np.log(6), abs=1e-5)


def test_id_loss_sends_no_gradient_to_a_region_no_sample_shows():
    head = make_head()
    samples = make_batch(ratios=(0.5, 0.75, 0.6, 0.8, 0.55, 0.7))  # region 5 never shown
    _, visible = head.region_targets(samples, (H, W), torch.device('cpu'))
    assert not visible[:, 5].any() and visible[:, 0].all()
    losses = head.loss(feats(), samples)
    losses['loss_id'].backward()
    for i in range(6):
        grads = [p.grad for p in list(head.classifiers.classifiers[i].parameters()) +
                 list(head.classifiers.reductions[i].parameters())]
        if i == 5:
            assert all(g is None or (g == 0).all() for g in grads)
        else:
            assert any(g is not None and (g != 0).any() for g in grads)
    # MVPM-3: every region's classifier learns from every image
    head = make_head(id_regions='all')
    head.loss(feats(), samples)['loss_id'].backward()
    assert (head.classifiers.classifiers[5].weight.grad != 0).any()


def test_id_loss_sums_visible_regions_and_averages_the_batch():
    head = make_head()
    samples = make_batch()
    _, visible = head.region_targets(samples, (H, W), torch.device('cpu'))
    with torch.no_grad():  # zero classifiers: every logit 0, each term log K
        for fc in head.classifiers.classifiers:
            fc.weight.zero_()
    losses = head.loss(feats(), samples)
    # region 5 is shown by the uncropped image only: with one image its BatchNorm cannot
    # run, so it adds nothing; the other regions add log 3 per image that shows them
    counts = visible.sum(dim=0)
    assert counts[5] == 1 and (counts[:5] >= 2).all()
    expected = counts[:5].sum().item() * np.log(3) / len(samples)
    assert losses['loss_id'].item() == pytest.approx(expected, rel=1e-5)


def test_triplet_switch_and_ablation_regions():
    samples = make_batch()
    assert 'loss_triplet' not in make_head(enable_triplet=False).loss(feats(), samples)
    assert 'loss_triplet' not in make_head(loss_triplet=None).loss(feats(), samples)
    shared = make_head().loss(feats(), samples)['loss_triplet']
    every = make_head(triplet_regions='all').loss(feats(), samples)['loss_triplet']
    assert torch.isfinite(shared) and torch.isfinite(every)
    assert shared.item() != pytest.approx(every.item())
    reduced = make_head(embedding='reduced').loss(feats(), samples)
    assert torch.isfinite(reduced['loss_triplet'])


def test_predictions_give_eq4_through_the_evaluator():
    head = make_head().eval()
    x = feats(4)[0]
    samples = head.predict((x, ))
    assert samples[0].embedding_names == tuple(f'region{i}' for i in range(1, 7))
    emb = torch.stack([s.embeddings for s in samples])  # [4, 6, C]
    vis = torch.stack([s.visibility for s in samples])  # [4, 6]
    out = head((x, ))
    c, f = out['scores'], out['features']
    # Eq. 4 on the raw scores C, by a double loop
    naive = torch.empty(4, 4)
    for k in range(4):
        for q in range(4):
            d = (f[k] - f[q]).norm(dim=1)
            naive[k, q] = (c[k] * c[q] * d).sum() / (c[k] * c[q]).sum()
    dist = part_distance(emb.double(), vis.double(), emb.double(), vis.double())
    assert torch.allclose(dist.float(), naive, atol=1e-4)
    assert torch.allclose(dist, dist.t()) and torch.allclose(dist.diagonal(),
                                                             torch.zeros(4).double())
    # scaling one image's scores by a positive constant leaves D unchanged
    scaled = vis.clone()
    scaled[2] *= 0.37
    assert torch.allclose(part_distance(emb, scaled, emb, vis), part_distance(emb, vis, emb, vis))
    # C_j^k = 0: changing f_j^l leaves D^kl unchanged
    vis0 = vis.clone()
    vis0[0, 2] = 0
    moved = emb.clone()
    moved[1, 2] += 100
    before = part_distance(emb[:1], vis0[:1], emb[1:2], vis0[1:2])
    after = part_distance(emb[:1], vis0[:1], moved[1:2], vis0[1:2])
    assert torch.allclose(before, after)
    # all C equal: the plain mean of the region distances (MVPM-1)
    head.test_visibility = 'uniform'
    uniform = head.predict((x, ))
    assert all((s.visibility == 1).all() for s in uniform)
    mean = (f[0] - f[1]).norm(dim=1).mean()
    got = part_distance(emb[:1], uniform[0].visibility[None], emb[1:2],
                        uniform[1].visibility[None])
    assert got.item() == pytest.approx(mean.item(), rel=1e-5)


def test_return_part_maps():
    head = make_head().eval()
    assert 'pred_part_map' not in head.predict(feats(2))[0]
    head.return_part_maps = True
    sample = head.predict(feats(2))[0]
    assert sample.pred_part_map.data.shape == (7, H, W)
    assert torch.allclose(sample.pred_part_map.data.sum(0), torch.ones(H, W), atol=1e-5)


def test_bfloat16_autocast_losses_close_to_float32():
    torch.manual_seed(0)
    head = make_head(dim_reduce=16, in_channels=32)
    x = (torch.randn(6, 32, H, W), )
    samples = make_batch()
    ref = head.loss(x, samples)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = head.loss(x, samples)
    for key in ('loss_region', 'loss_id', 'loss_triplet'):
        assert torch.isfinite(low[key]), key
        assert low[key].dtype == torch.float32
        assert low[key].item() == pytest.approx(ref[key].item(), rel=0.03, abs=1e-3), key
    sum(v for k, v in low.items() if 'loss' in k).backward()


def test_bad_input():
    with pytest.raises(ValueError, match='does not divide the 24x8 feature map'):
        make_head(grid=(5, 1))(feats())
    with pytest.raises(ValueError, match='does not divide'):
        make_head(grid=(3, 3))(feats())
    with pytest.raises(ValueError, match='grid'):
        make_head(grid=(0, 1))
    with pytest.raises(ValueError, match='test_visibility'):
        make_head(test_visibility='hard')
    bare = ReIDDataSample(metainfo=dict(img_shape=IMG, img_path='a.jpg')).set_gt_label(0)
    with pytest.raises(KeyError, match='a.jpg has no region_boxes.*VPMRandomCrop'):
        make_head().loss(feats(1), [bare])
    with pytest.raises(ValueError, match='6 region boxes, but the head has a'):
        make_head(grid=(3, 1)).loss(feats(1), [make_sample(0)])
    with pytest.raises(ValueError, match='in_channels'):
        make_head()((torch.randn(1, C + 1, H, W), ))


def test_checkpoints_without_the_identity_classifiers_load(tmp_path):
    from mmreidparts.utils import load_reid_checkpoint, training_only_prefixes
    backbone = dict(type='ResNetReID', depth=18, last_stride=1)
    head = dict(type='VPMHead', in_channels=512, num_classes=3, grid=(2, 1), dim_reduce=4)
    model = MODELS.build(dict(type='ReIDModel', backbone=backbone, head=head))
    assert training_only_prefixes(model) == ('head.classifiers.', )
    path = str(tmp_path / 'published.pth')
    state = {k: v for k, v in model.state_dict().items() if 'classifiers' not in k}
    torch.save(dict(state_dict=state, meta={}), path)
    other = MODELS.build(dict(type='ReIDModel', backbone=backbone,
                              head=dict(head, num_classes=7)))  # another training set
    load_reid_checkpoint(other, path)
    assert torch.equal(other.head.locator.conv.weight, model.head.locator.conv.weight)
    # reduced test embeddings need the reduction layers
    reduced = MODELS.build(dict(type='ReIDModel', backbone=backbone,
                                head=dict(head, embedding='reduced')))
    assert training_only_prefixes(reduced) == ('head.classifiers.classifiers.', )
    with pytest.raises(RuntimeError, match='does not match'):
        load_reid_checkpoint(reduced, path)
