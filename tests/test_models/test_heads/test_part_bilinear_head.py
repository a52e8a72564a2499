"""Part-aligned bilinear head: the descriptor, the output contract, the loss, autocast."""
import pytest
import torch

from mmreidparts.evaluation.functional.part_distance import part_distance
from mmreidparts.models.heads import PartBilinearHead
from mmreidparts.models.utils import bilinear_pool
from mmreidparts.structures import ReIDDataSample


def _head(**kwargs):
    cfg = dict(app_channels=6, part_channels=5, num_classes=4, app_dim=8, part_dim=3,
               pooling=dict(type='CompactBilinearPooling', output_dim=16))
    cfg.update(kwargs)
    return PartBilinearHead(**cfg)


def _feats(n=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 6, 4, 2, generator=gen), torch.randn(n, 5, 4, 2, generator=gen))


def _samples(labels):
    return [ReIDDataSample().set_gt_label(int(y)) for y in labels]


def test_layers_follow_the_release():
    head = _head()
    assert head.app_embed.conv.kernel_size == (1, 1) and head.part_embed.conv.kernel_size == (3, 3)
    assert not head.app_embed.bn.affine and not head.part_embed.bn.affine  # no BN affine
    assert len(head.app_embed) == 2 and len(_head(part_relu=True).part_embed) == 3
    assert torch.equal(head.app_embed.conv.bias, torch.zeros(8))
    assert head.embed_dim == 16 and head.in_channels == 6 and head.in_index == 0


def test_descriptor_is_unit_norm_and_invariant_to_scaling_either_stream():
    head = _head()
    gen = torch.Generator().manual_seed(1)
    a, p = torch.randn(3, 8, 4, 2, generator=gen), torch.randn(3, 3, 4, 2, generator=gen)
    _, emb = head.descriptor(a, p)
    assert emb.shape == (3, 16)
    assert torch.allclose(emb.norm(dim=1), torch.ones(3))
    for scaled in (head.descriptor(2.5 * a, p)[1], head.descriptor(a, 0.1 * p)[1],
                   head.descriptor(7 * a, 3 * p)[1]):
        assert torch.allclose(scaled, emb, atol=1e-6)
    # a negative scale flips the sign: the descriptor is not a mere absolute value
    assert torch.allclose(head.descriptor(-a, p)[1], -emb, atol=1e-6)


def test_exact_pooling_gives_the_normalised_outer_product():
    head = _head(pooling=dict(type='BilinearPooling'))
    assert head.embed_dim == 24  # 8 x 3
    a, p = torch.randn(2, 8, 4, 2), torch.randn(2, 3, 4, 2)
    _, emb = head.descriptor(a, p)
    expected = bilinear_pool(a, p)
    assert torch.allclose(emb, expected / expected.norm(dim=1, keepdim=True), atol=1e-6)


def test_predict_fills_one_unit_embedding_with_visibility_one():
    head = _head().eval()
    samples = head.predict(_feats(), _samples([0, 0, 1, 1]))
    assert len(samples) == 4
    for s in samples:
        assert s.embeddings.shape == (1, 16) and torch.equal(s.visibility, torch.ones(1))
        assert s.embedding_names == ('bilinear', )
        assert float(s.embeddings.norm()) == pytest.approx(1.0, abs=1e-5)


def test_euclidean_ranking_equals_inner_product_ranking():
    head = _head().eval()
    q = torch.stack([s.embeddings for s in head.predict(_feats(3, seed=2))])  # [3, 1, d]
    g = torch.stack([s.embeddings for s in head.predict(_feats(9, seed=3))])  # [9, 1, d]
    ones_q, ones_g = torch.ones(3, 1), torch.ones(9, 1)
    dist = part_distance(q, ones_q, g, ones_g, metric='euclidean')  # [3, 9]
    sim = q[:, 0] @ g[:, 0].t()
    assert torch.allclose(dist ** 2, 2 - 2 * sim, atol=1e-5)
    assert torch.equal(dist.argsort(dim=1), (-sim).argsort(dim=1))


def test_loss_is_the_batch_all_triplet_of_the_descriptors():
    torch.manual_seed(0)
    head = _head()
    feats = _feats()
    losses = head.loss(feats, _samples([0, 0, 1, 1]))
    assert set(losses) == {'loss_triplet', 'active_triplets'}
    emb = head(feats)['embedding'].detach()
    sim = emb @ emb.t()
    # all 8 triplets (q, p, n) of two ids x two images, active-count reduction
    terms = [0.2 + sim[q, n] - sim[q, p] for q, p in ((0, 1), (1, 0), (2, 3), (3, 2))
             for n in ((2, 3) if q < 2 else (0, 1))]
    active = [t for t in terms if t > 0]
    assert 0 < len(active) < 8
    assert float(losses['loss_triplet']) == pytest.approx(float(sum(active)) / len(active),
                                                          abs=1e-5)
    assert losses['active_triplets'].item() == pytest.approx(100 * len(active) / 8)
    losses['loss_triplet'].backward()
    assert head.app_embed.conv.weight.grad.abs().sum() > 0
    assert head.part_embed.conv.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='outside'):
        head.loss(feats, _samples([0, 0, 1, 9]))


def test_bfloat16_autocast_keeps_the_sketch_in_float32():
    head = _head().train()
    feats = _feats()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = head(feats)
        loss = head.loss(feats, _samples([0, 0, 1, 1]))['loss_triplet']
    assert out['app'].dtype == torch.bfloat16  # the convolutions ran in bfloat16
    assert out['pooled'].dtype == torch.float32 and out['embedding'].dtype == torch.float32
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(head.app_embed.conv.weight.grad).all()


def test_bad_maps_are_named():
    head = _head()
    with pytest.raises(ValueError, match='two-stream'):
        head(torch.zeros(1, 6, 4, 2))
    with pytest.raises(ValueError, match='part_channels'):
        head((torch.zeros(1, 6, 4, 2), torch.zeros(1, 7, 4, 2)))
