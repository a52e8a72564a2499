"""Tests of the streaming (query-chunked) evaluation."""
import pytest
import torch

from mmreidparts.evaluation.functional import part_distance, part_rank_metrics, rank_metrics


def _data(seed=0, num_q=17, num_g=40, parts=3, dim=8):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(num_q, parts, dim, generator=gen)
    g = torch.randn(num_g, parts, dim, generator=gen)
    qv = (torch.rand(num_q, parts, generator=gen) < 0.6).float()
    gv = torch.rand(num_g, parts, generator=gen)  # soft visibility
    gv[gv < 0.3] = 0
    q_pids = torch.randint(0, 6, (num_q, ), generator=gen)
    g_pids = torch.randint(0, 6, (num_g, ), generator=gen)
    q_cams = torch.randint(0, 2, (num_q, ), generator=gen)
    g_cams = torch.randint(0, 2, (num_g, ), generator=gen)
    return q, qv, q_pids, q_cams, g, gv, g_pids, g_cams


@pytest.mark.parametrize('metric,normalize', [('euclidean', False), ('euclidean', True),
                                              ('cosine', False)])
@pytest.mark.parametrize('protocol', ['market', 'all', 'cuhk03_classic'])
def test_chunked_equals_unchunked(metric, normalize, protocol):
    q, qv, q_pids, q_cams, g, gv, g_pids, g_cams = _data()
    dist = part_distance(q, qv, g, gv, metric=metric, normalize=normalize)
    full = rank_metrics(dist, q_pids, g_pids, q_cams, g_cams, max_rank=10,
                        protocol=protocol, chunk_size=None)
    for chunk in (1, 4, None):
        timings = {}
        res = part_rank_metrics(q, qv, q_pids, q_cams, g, gv, g_pids, g_cams, metric=metric,
                                normalize=normalize, max_rank=10, protocol=protocol,
                                chunk_size=chunk, timings=timings)
        assert torch.allclose(res.cmc, full.cmc)
        assert res.mAP == pytest.approx(full.mAP) and res.mINP == pytest.approx(full.mINP)
        assert res.num_skipped == full.num_skipped
        assert set(timings) == {'distance', 'ranking'}


def test_errors_name_the_input():
    q, qv, q_pids, q_cams, g, gv, g_pids, g_cams = _data()
    with pytest.raises(ValueError, match='no query'):
        part_rank_metrics(q[:0], qv[:0], q_pids[:0], q_cams[:0], g, gv, g_pids, g_cams)
    with pytest.raises(ValueError, match=r'same \[P, D\]'):
        part_rank_metrics(q[:, :2], qv[:, :2], q_pids, q_cams, g, gv, g_pids, g_cams)
    with pytest.raises(ValueError, match='one entry per query'):
        part_rank_metrics(q, qv, q_pids[:3], q_cams, g, gv, g_pids, g_cams)
    with pytest.raises(ValueError, match='chunk_size'):
        part_rank_metrics(q, qv, q_pids, q_cams, g, gv, g_pids, g_cams, chunk_size=0)
