"""Tests of k-reciprocal re-ranking against a plain loop implementation."""
import math

import numpy as np
import pytest
import torch

from mmreidparts.evaluation.functional import k_reciprocal_rerank, part_distance


def _plain_rerank(qg, qq, gg, k1, k2, lam):
    """The steps of Zhong et al. (2017) with dense arrays, Python sets and loops."""
    num_q, num_g = qg.shape
    n = num_q + num_g
    d = np.zeros((n, n))
    d[:num_q, :num_q], d[:num_q, num_q:] = qq, qg
    d[num_q:, :num_q], d[num_q:, num_q:] = qg.T, gg
    finite = np.isfinite(d)
    d[~finite] = d[finite].max() + 1
    for i in range(n):
        d[i] = d[i] / d[i].max()
    order = [sorted(range(n), key=lambda j, i=i: (d[i, j], j)) for i in range(n)]

    def reciprocal(i, k):
        return [j for j in order[i][:k + 1] if i in order[j][:k + 1]]

    v = np.zeros((n, n))
    for i in range(n):
        base = reciprocal(i, k1)
        expanded = set(base)
        for c in base:
            cand = reciprocal(c, int(round(k1 / 2)))
            if len(set(cand) & set(base)) > 2 / 3 * len(cand):
                expanded |= set(cand)
        idx = sorted(expanded)
        w = np.exp(-d[i, idx])
        v[i, idx] = w / w.sum()
    if k2 > 1:
        v = np.stack([v[order[i][:k2]].mean(0) for i in range(n)])
    out = np.zeros((num_q, num_g))
    for i in range(num_q):
        for j in range(num_g):
            s = sum(min(v[i, c], v[num_q + j, c]) for c in range(n))
            jac = 1 - s / (2 - s)
            out[i, j] = (1 - lam) * jac + lam * d[i, num_q + j]
    out[np.isinf(qg)] = math.inf
    return out


@pytest.mark.parametrize('k1,k2,lam', [(4, 3, 0.3), (5, 1, 0.5), (3, 2, 0.0)])
def test_matches_plain_implementation(k1, k2, lam):
    gen = torch.Generator().manual_seed(k1 * 10 + k2)
    q = torch.randn(6, 3, 4, generator=gen)
    g = torch.randn(14, 3, 4, generator=gen)
    # two identities' worth of structure: the gallery repeats noisy queries
    g[:6] = q + 0.3 * torch.randn(6, 3, 4, generator=gen)
    qv = (torch.rand(6, 3, generator=gen) < 0.8).float()
    gv = (torch.rand(14, 3, generator=gen) < 0.8).float()
    qv[0] = torch.tensor([1.0, 0.0, 0.0])
    gv[5] = torch.tensor([0.0, 1.0, 1.0])  # nothing in common with query 0: +inf
    qg = part_distance(q, qv, g, gv)
    qq = part_distance(q, qv, q, qv)
    gg = part_distance(g, gv, g, gv)
    assert math.isinf(qg[0, 5])
    out = k_reciprocal_rerank(qg, qq, gg, k1=k1, k2=k2, lambda_value=lam)
    ref = _plain_rerank(qg.double().numpy(), qq.double().numpy(), gg.double().numpy(), k1,
                        k2, lam)
    assert out.shape == (6, 14)
    assert torch.equal(torch.isinf(out), torch.from_numpy(np.isinf(ref)))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(out.numpy()[fin], ref[fin], rtol=1e-4, atol=1e-5)


def test_lambda_one_is_normalised_original_distance():
    qg = torch.tensor([[1.0, 4.0], [2.0, 2.0]])
    qq = torch.tensor([[0.0, 3.0], [3.0, 0.0]])
    gg = torch.tensor([[0.0, 5.0], [5.0, 0.0]])
    out = k_reciprocal_rerank(qg, qq, gg, k1=1, k2=1, lambda_value=1.0)
    # rows [qq | qg] divided by their maxima: query 0 by 4, query 1 by 3
    assert out.tolist() == [pytest.approx([0.25, 1.0]), pytest.approx([2 / 3, 2 / 3])]


def test_bad_shapes():
    with pytest.raises(ValueError, match='q_q_dist'):
        k_reciprocal_rerank(torch.zeros(2, 3), torch.zeros(3, 3), torch.zeros(3, 3))
