"""Tests of CMC, mAP and mINP under the ranking protocols."""
import math

import pytest
import torch

from mmreidparts.evaluation.functional import rank_metrics

INF = math.inf


def _hand_case():
    """3 queries x 4 gallery images; query 2 has no match in the gallery."""
    dist = torch.tensor([[0.1, 0.4, 0.8, 0.3],
                         [0.2, 0.9, 0.5, 0.6],
                         [0.3, 0.2, 0.1, 0.4]])
    q_pids, q_cams = [1, 2, 5], [0, 0, 0]
    g_pids, g_cams = [1, 1, 1, 2], [0, 1, 2, 1]
    return dist, q_pids, g_pids, q_cams, g_cams


def test_hand_case_market():
    # Query 0 (pid 1, cam 0): g0 has pid 1 and cam 0 -> ignored. Remaining order:
    #   g3 0.3 (neg), g1 0.4 (pos), g2 0.8 (pos) -> positives at ranks 2 and 3.
    #   CMC: r1 0, r2 1, r3 1; AP = (1/2 + 2/3) / 2 = 7/12; INP = 2/3.
    # Query 1 (pid 2, cam 0): g3 (cam 1) is its only match. Order:
    #   g0 0.2, g2 0.5, g3 0.6 (pos), g1 0.9 -> rank 3. AP = 1/3, INP = 1/3.
    # Query 2 (pid 5): no gallery image of pid 5 -> skipped.
    res = rank_metrics(*_hand_case(), max_rank=4, protocol='market')
    assert res.num_valid == 2 and res.num_skipped == 1
    assert res.cmc.tolist() == pytest.approx([0.0, 0.5, 1.0, 1.0])
    assert res.mAP == pytest.approx((7 / 12 + 1 / 3) / 2)  # 11/24
    assert res.mINP == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert res.ap[:2].tolist() == pytest.approx([7 / 12, 1 / 3])
    assert math.isnan(res.ap[2]) and math.isnan(res.inp[2])


def test_hand_case_all():
    # Nothing filtered. Query 0 order: g0 0.1 (pos), g3 0.3, g1 0.4 (pos), g2 0.8 (pos)
    #   -> ranks 1, 3, 4: AP = (1/1 + 2/3 + 3/4) / 3 = 29/36, INP = 3/4, CMC@1 = 1.
    # Query 1 as in the market case: AP = INP = 1/3, first match at rank 3.
    res = rank_metrics(*_hand_case(), max_rank=3, protocol='all')
    assert res.cmc.tolist() == pytest.approx([0.5, 0.5, 1.0])
    assert res.mAP == pytest.approx((29 / 36 + 1 / 3) / 2)
    assert res.mINP == pytest.approx((3 / 4 + 1 / 3) / 2)


def test_infinite_distances_rank_last_and_ties_by_index():
    # Query pid 1. Order: g1 0.5, g3 0.7 (pos), then the +inf entries by index:
    # g0 (pos), g2 -> positives at ranks 2 and 3: AP = (1/2 + 2/3) / 2.
    dist = torch.tensor([[INF, 0.5, INF, 0.7]])
    res = rank_metrics(dist, [1], [1, 2, 2, 1], [0], [1, 1, 1, 1], max_rank=4)
    assert res.ap[0].item() == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert res.inp[0].item() == pytest.approx(2 / 3)
    # all distances tie: the gallery order decides -> positive g2 at rank 3
    dist = torch.full((1, 4), 0.25)
    res = rank_metrics(dist, [1], [3, 4, 1, 5], [0], [1, 1, 1, 1], max_rank=4)
    assert res.cmc.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert res.mAP == pytest.approx(1 / 3)


def test_junk_gallery_images_are_ignored():
    # g1 has pid -1 (junk): it is neither a match nor a distractor
    dist = torch.tensor([[0.3, 0.1, 0.2]])
    res = rank_metrics(dist, [7], [7, -1, 7], [0], [1, 1, 1], max_rank=2)
    assert res.cmc.tolist() == [1.0, 1.0] and res.mAP == pytest.approx(1.0)


def _naive(dist, q_pids, g_pids, q_cams, g_cams, max_rank, protocol):
    """Sort every query's gallery by (distance, index) with Python and score it."""
    cmcs, aps, inps = [], [], []
    for i in range(len(q_pids)):
        keep = [
            j for j in range(len(g_pids))
            if g_pids[j] != -1 and not (protocol == 'market' and g_pids[j] == q_pids[i]
                                        and g_cams[j] == q_cams[i])
        ]
        order = sorted(keep, key=lambda j: (dist[i][j], j))
        matches = [g_pids[j] == q_pids[i] for j in order]
        if not any(matches):
            continue
        first = matches.index(True)
        cmcs.append([1.0 if first <= m else 0.0 for m in range(max_rank)])
        hits, precisions = 0, []
        for rank, match in enumerate(matches):
            if match:
                hits += 1
                precisions.append(hits / (rank + 1))
                last = rank
        aps.append(sum(precisions) / hits)
        inps.append(hits / (last + 1))
    cmc = [sum(c[m] for c in cmcs) / len(cmcs) for m in range(max_rank)]
    return cmc, sum(aps) / len(aps), sum(inps) / len(inps), len(q_pids) - len(cmcs)


@pytest.mark.parametrize('protocol', ['market', 'all'])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_random_cases_match_naive_reference(protocol, seed):
    gen = torch.Generator().manual_seed(seed)
    num_q, num_g = 23, 61
    # few distinct values: many ties; +inf, -0.0 and negative values included
    values = torch.tensor([0.0, -0.0, 0.5, 1.0, 1.5, INF, -0.25])
    dist = values[torch.randint(0, len(values), (num_q, num_g), generator=gen)]
    g_pids = torch.randint(-1, 8, (num_g, ), generator=gen).tolist()
    q_pids = torch.randint(0, 10, (num_q, ), generator=gen).tolist()  # 8, 9: no match
    g_cams = torch.randint(0, 3, (num_g, ), generator=gen).tolist()
    q_cams = torch.randint(0, 3, (num_q, ), generator=gen).tolist()
    cmc, m_ap, m_inp, skipped = _naive(dist.tolist(), q_pids, g_pids, q_cams, g_cams, 20,
                                       protocol)
    for chunk in (None, 1, 5):
        res = rank_metrics(dist, q_pids, g_pids, q_cams, g_cams, max_rank=20,
                           protocol=protocol, chunk_size=chunk)
        assert res.cmc.tolist() == pytest.approx(cmc)
        assert res.mAP == pytest.approx(m_ap)
        assert res.mINP == pytest.approx(m_inp)
        assert res.num_skipped == skipped


def test_cuhk03_classic_single_shot():
    gen = torch.Generator().manual_seed(0)
    dist = torch.rand(12, 30, generator=gen)
    g_pids = [j % 10 for j in range(30)]  # 10 ids, 3 images each
    g_cams = [j // 10 for j in range(30)]  # cameras 0, 1, 2
    q_pids = [i % 10 for i in range(12)]
    q_cams = [0] * 12
    kwargs = dict(max_rank=10, protocol='cuhk03_classic', num_repeats=7, seed=3)
    res = rank_metrics(dist, q_pids, g_pids, q_cams, g_cams, **kwargs)
    # one image per identity: the match is always within the 10 sampled images
    assert res.cmc[-1].item() == pytest.approx(1.0)
    # a single positive per gallery: INP equals AP
    assert torch.allclose(res.ap, res.inp)
    # deterministic, and independent of chunking
    again = rank_metrics(dist, q_pids, g_pids, q_cams, g_cams, chunk_size=5, **kwargs)
    assert torch.allclose(again.cmc, res.cmc) and again.mAP == pytest.approx(res.mAP)
    other = rank_metrics(dist, q_pids, g_pids, q_cams, g_cams, **{**kwargs, 'seed': 4})
    assert not torch.allclose(other.ap, res.ap)

    # with one usable image per identity there is nothing to draw: equals 'market'
    g_pids1, g_cams1 = list(range(10)), [1] * 10
    dist1 = dist[:, :10].contiguous()
    single = rank_metrics(dist1, q_pids, g_pids1, q_cams, g_cams1, **kwargs)
    market = rank_metrics(dist1, q_pids, g_pids1, q_cams, g_cams1, max_rank=10)
    assert torch.allclose(single.cmc, market.cmc) and single.mAP == pytest.approx(market.mAP)


def test_cuhk03_classic_average_over_draws_by_hand():
    # Query pid 1 (cam 0); gallery: pid 1 at 0.1 (cam 1) and 0.9 (cam 1), pid 2 at 0.5.
    # A draw keeps one pid-1 image: 0.1 -> rank 1 (hit@1, AP 1) or 0.9 -> rank 2 behind
    # pid 2 (AP 1/2). So per repeat AP = (1 + hit@1) / 2, and on average
    # mAP = (1 + CMC@1) / 2, with CMC@2 = 1 in every repeat.
    dist = torch.tensor([[0.1, 0.9, 0.5]])
    res = rank_metrics(dist, [1], [1, 1, 2], [0], [1, 1, 1], max_rank=2,
                       protocol='cuhk03_classic', num_repeats=50, seed=0)
    rank1 = res.cmc[0].item()
    assert 0.2 < rank1 < 0.8  # both draws happen
    assert res.cmc[1].item() == pytest.approx(1.0)
    assert res.mAP == pytest.approx((1 + rank1) / 2)


def test_bad_inputs():
    dist, q_pids, g_pids, q_cams, g_cams = _hand_case()
    with pytest.raises(ValueError, match='protocol must be one of'):
        rank_metrics(dist, q_pids, g_pids, q_cams, g_cams, protocol='duke')
    with pytest.raises(ValueError, match=r'dist must be \[Q, G\]'):
        rank_metrics(dist[:, :3], q_pids, g_pids, q_cams, g_cams)
    with pytest.raises(ValueError, match='g_pids .* and g_camids'):
        rank_metrics(dist, q_pids, g_pids, q_cams, g_cams[:3])
