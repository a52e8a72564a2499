"""Tests of the visibility-weighted part distance."""
import math

import pytest
import torch

from mmreidparts.evaluation.functional import part_distance, prepare_operand


def _random(num: int, parts: int = 4, dim: int = 6, seed: int = 0, rate: float = 0.6):
    gen = torch.Generator().manual_seed(seed)
    emb = torch.randn(num, parts, dim, generator=gen, dtype=torch.float64)
    vis = (torch.rand(num, parts, generator=gen) < rate).double()
    return emb, vis


def _reference(q, qv, g, gv, metric, normalize):
    """The formula of docs/design.md, written with loops."""
    out = torch.empty(q.shape[0], g.shape[0], dtype=torch.float64)
    for i in range(q.shape[0]):
        for j in range(g.shape[0]):
            num = den = 0.0
            for p in range(q.shape[1]):
                a, b = q[i, p], g[j, p]
                if normalize or metric == 'cosine':
                    a, b = a / a.norm(), b / b.norm()
                d = (a - b).norm() if metric == 'euclidean' else 1 - a @ b
                w = float(qv[i, p] * gv[j, p])
                num += w * float(d)
                den += w
            out[i, j] = num / den if den > 0 else math.inf
    return out


@pytest.mark.parametrize('metric', ['euclidean', 'cosine'])
@pytest.mark.parametrize('normalize', [False, True])
def test_matches_loop_reference(metric, normalize):
    q, qv = _random(5, seed=1)
    g, gv = _random(7, seed=2)
    qv[0] = 0  # a query with nothing visible: a row of +inf
    gv[1, :] = torch.tensor([0.3, 0.0, 1.0, 0.7], dtype=torch.float64)  # soft visibility
    dist = part_distance(q, qv, g, gv, metric=metric, normalize=normalize)
    ref = _reference(q, qv, g, gv, metric, normalize)
    assert torch.equal(torch.isinf(dist), torch.isinf(ref))
    assert torch.isinf(dist[0]).all()
    finite = torch.isfinite(ref)
    assert torch.allclose(dist[finite], ref[finite], atol=1e-9)


@pytest.mark.parametrize('metric', ['euclidean', 'cosine'])
def test_symmetric_and_zero_on_itself(metric):
    x, xv = _random(6, seed=3, rate=0.7)
    y, yv = _random(5, seed=4, rate=0.7)
    xy = part_distance(x, xv, y, yv, metric=metric)
    yx = part_distance(y, yv, x, xv, metric=metric)
    assert torch.equal(torch.isinf(xy), torch.isinf(yx.t()))
    assert torch.allclose(xy[torch.isfinite(xy)], yx.t()[torch.isfinite(xy)], atol=1e-9)
    xx = part_distance(x, xv, x, xv, metric=metric)
    has_visible = xv.sum(1) > 0
    assert torch.allclose(xx.diagonal()[has_visible], torch.zeros(int(has_visible.sum()),
                                                                   dtype=torch.float64),
                          atol=1e-6)


def test_all_visible_is_mean_of_part_distances():
    q, _ = _random(4, parts=3, seed=5)
    g, _ = _random(6, parts=3, seed=6)
    ones_q, ones_g = torch.ones(4, 3, dtype=torch.float64), torch.ones(6, 3,
                                                                      dtype=torch.float64)
    dist = part_distance(q, ones_q, g, ones_g)
    per_part = torch.stack([torch.cdist(q[:, p], g[:, p]) for p in range(3)])  # [P, Q, G]
    assert torch.allclose(dist, per_part.mean(0), atol=1e-9)


@pytest.mark.parametrize('metric', ['euclidean', 'cosine'])
def test_invisible_part_has_no_effect(metric):
    q, qv = _random(3, seed=7, rate=1.0)
    g, gv = _random(4, seed=8, rate=1.0)
    qv[:, 2] = 0  # part 2 invisible in every query
    gv[1, 0] = 0  # part 0 invisible in gallery image 1
    before = part_distance(q, qv, g, gv, metric=metric)
    q2, g2 = q.clone(), g.clone()
    q2[:, 2] = 100 * torch.randn(3, q.shape[2], dtype=torch.float64)
    g2[1, 0] = -50.0
    after = part_distance(q2, qv, g2, gv, metric=metric)
    assert torch.allclose(before, after, atol=1e-9)


def test_soft_visibility_by_hand():
    # part 0: query (0, 0), gallery (3, 4) -> euclidean 5; part 1: (0, 0) vs (1, 0) -> 1
    q = torch.zeros(1, 2, 2, dtype=torch.float64)
    g = torch.tensor([[[3.0, 4.0], [1.0, 0.0]]], dtype=torch.float64)
    # weights v_q * v_g = (0.4 * 0.5, 1.0 * 0.8) = (0.2, 0.8): (0.2 * 5 + 0.8 * 1) / 1.0
    dist = part_distance(q, torch.tensor([[0.4, 1.0]], dtype=torch.float64), g,
                         torch.tensor([[0.5, 0.8]], dtype=torch.float64))
    assert dist.item() == pytest.approx(1.8)
    # weights (1 * 0.5, 0.5 * 1) = (0.5, 0.5): (0.5 * 5 + 0.5 * 1) / 1.0 = 3
    dist = part_distance(q, torch.tensor([[1.0, 0.5]], dtype=torch.float64), g,
                         torch.tensor([[0.5, 1.0]], dtype=torch.float64))
    assert dist.item() == pytest.approx(3.0)
    # no mutually visible part: +inf
    dist = part_distance(q, torch.tensor([[1.0, 0.0]], dtype=torch.float64), g,
                         torch.tensor([[0.0, 1.0]], dtype=torch.float64))
    assert math.isinf(dist.item())


def test_cosine_and_normalize_by_hand():
    q = torch.tensor([[[2.0, 0.0]]])
    g = torch.tensor([[[0.0, 3.0]], [[1.0, 1.0]]])
    ones_q, ones_g = torch.ones(1, 1), torch.ones(2, 1)
    cos = part_distance(q, ones_q, g, ones_g, metric='cosine')
    assert cos[0].tolist() == pytest.approx([1.0, 1 - 1 / math.sqrt(2)], abs=1e-6)
    # euclidean on unit rows: |(1, 0) - (0, 1)| = sqrt(2); |(1, 0) - (1, 1)/sqrt(2)|
    euc = part_distance(q, ones_q, g, ones_g, normalize=True)
    expected = math.sqrt((1 - 1 / math.sqrt(2))**2 + 0.5)
    assert euc[0].tolist() == pytest.approx([math.sqrt(2), expected], abs=1e-5)
    raw = part_distance(q, ones_q, g, ones_g)
    assert raw[0].tolist() == pytest.approx([math.sqrt(13), math.sqrt(2)], abs=1e-5)


def test_bad_inputs_name_the_problem():
    q, qv = _random(2, parts=3)
    g, gv = _random(2, parts=4)
    with pytest.raises(ValueError, match=r'same \[P, D\]'):
        part_distance(q, qv, g, gv)
    g, gv = _random(2, parts=3)
    with pytest.raises(ValueError, match='query visibility must be'):
        part_distance(q, qv[:, :2], g, gv)
    with pytest.raises(ValueError, match='>= 0'):
        part_distance(q, -qv, g, gv)
    with pytest.raises(ValueError, match='metric must be one of'):
        part_distance(q, qv, g, gv, metric='manhattan')
    with pytest.raises(ValueError, match=r'\[N, P, D\]'):
        part_distance(q[:, 0], qv, g, gv)


def test_rounding_below_zero_is_repaired_not_nan():
    # float32 rows with large norms: |q|^2 + |g|^2 - 2 q.g of equal rows rounds below zero
    # for some pairs; those pairs are recomputed directly instead of giving nan
    gen = torch.Generator().manual_seed(0)
    x = 300 * torch.randn(64, 2, 32, generator=gen)
    vis = torch.ones(64, 2)
    vis[::3, 1] = 0.5  # soft weights go through the repair too
    q_op = prepare_operand(x, vis, side='query')
    g_op = prepare_operand(x, vis, side='gallery')
    raw = torch.stack([q_op[p] @ g_op[p].t() for p in range(2)])  # [P, N, N]
    assert bool((raw.diagonal(dim1=1, dim2=2) < 0).any())  # the repair path is exercised
    dist = part_distance(x, vis, x, vis)
    assert not torch.isnan(dist).any()
    off_diag = dist[~torch.eye(64, dtype=torch.bool)]
    assert dist.diagonal().max() < 1e-2 * off_diag.min()
