"""The evaluator under faults: NaN or Inf features stop it; no-common-part queries are shown."""
import logging

import pytest
import torch
from _log_records import LogRecords
from mmengine.logging import MMLogger

from mmreidparts.evaluation import ReIDMetric
from mmreidparts.evaluation.functional import part_distance, part_rank_metrics
from mmreidparts.evaluation.functional.part_distance import nonfinite_rows
from mmreidparts.structures import ReIDDataSample
from mmreidparts.utils.errors import NonFiniteError, ReIDPartsError


def _tiny(seed: int = 0):
    """4 queries and 6 gallery images, P=2, D=3, all visible."""
    gen = torch.Generator().manual_seed(seed)
    q_emb, g_emb = torch.randn(4, 2, 3, generator=gen), torch.randn(6, 2, 3, generator=gen)
    return (q_emb, torch.ones(4, 2), [0, 1, 2, 0], [0, 0, 0, 0], g_emb, torch.ones(6, 2),
            [0, 1, 2, 0, 1, 2], [1, 1, 1, 1, 1, 1])


def test_nonfinite_rows_one_pass_tells_overflow_from_nan():
    x = torch.zeros(4, 2, 3)
    x[1, 0, 2] = float('nan')
    x[2] = 3e38  # every value finite, but the row sum overflows to inf
    x[3, 1, 1] = -float('inf')
    assert nonfinite_rows(x).tolist() == [1, 3]
    assert nonfinite_rows(torch.ones(5, 1)).tolist() == []
    # a non-contiguous slice (the per-embedding evaluation) is checked without a copy
    assert nonfinite_rows(x[:, 1:]).tolist() == [3]


@pytest.mark.parametrize('metric', ['euclidean', 'cosine'])
def test_nan_query_embedding_stops_part_rank_metrics(metric):
    q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids, g_cams = _tiny()
    q_emb[2, 1, 0] = float('nan')
    paths = [f'/data/query/000{i}_c1.jpg' for i in range(4)]
    with pytest.raises(NonFiniteError) as err:
        part_rank_metrics(q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids, g_cams,
                          metric=metric, q_paths=paths)
    msg = str(err.value)
    assert 'query embeddings' in msg and '1 of 4 images' in msg and paths[2] in msg
    assert isinstance(err.value, ValueError) and isinstance(err.value, ReIDPartsError)


def test_inf_gallery_visibility_and_embeddings_are_counted_and_named():
    q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids, g_cams = _tiny()
    g_vis[4, 0] = float('inf')
    with pytest.raises(NonFiniteError, match=r'gallery visibility .* 1 of 6 images, e\.g\. '
                                             r'row 4'):
        part_rank_metrics(q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids, g_cams)
    g_vis[4, 0] = 1.0
    for row in (0, 1, 3, 5):
        g_emb[row, 0, 0] = float('inf')
    with pytest.raises(NonFiniteError) as err:
        part_rank_metrics(q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids, g_cams)
    # the first three rows are named, the rest summarised
    assert '4 of 6 images, e.g. row 0, row 1, row 3, ...' in str(err.value)
    # the full-matrix distance checks its inputs the same way
    with pytest.raises(NonFiniteError, match='gallery embeddings'):
        part_distance(q_emb, q_vis, g_emb, g_vis)


def _no_common_case():
    """Query 0 (pid 1) shows only part 1, which no gallery image shows; query 1 is normal.

    Gallery (camera 1, part 0 only): g0 pid 2 at 0, g1 pid 1 at 5, g2 pid 1 at 1.
    Query 0: every distance is +inf, so the gallery order decides: g0 (negative), g1, g2
    -> rank-1 miss, AP = (1/2 + 2/3) / 2 = 7/12. Query 1 (pid 2, part 0 at 0.1): nearest
    g0 (0.1) is its match -> rank-1 hit, AP 1. All: rank-1 50, mAP 19/24; without query 0:
    rank-1 100, mAP 100.
    """
    q_emb = torch.tensor([[[9.0], [9.0]], [[0.1], [0.0]]])  # [2, 2, 1]
    q_vis = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    g_emb = torch.tensor([[[0.0], [0.0]], [[5.0], [0.0]], [[1.0], [0.0]]])
    g_vis = torch.tensor([[1.0, 0.0]] * 3)
    return q_emb, q_vis, [1, 2], [0, 0], g_emb, g_vis, [2, 1, 1], [1, 1, 1]


def test_queries_with_no_common_part_are_counted_with_the_figures_without_them():
    res = part_rank_metrics(*_no_common_case(), max_rank=3)
    assert res.no_common.tolist() == [True, False]
    assert res.num_no_common == 1
    assert float(res.cmc[0]) == pytest.approx(0.5)
    assert res.mAP == pytest.approx(19 / 24)
    assert res.common.num_valid == 1
    assert float(res.common.cmc[0]) == pytest.approx(1.0) and res.common.mAP == 1.0
    # nothing of the kind: no extra row
    q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids, g_cams = _tiny()
    plain = part_rank_metrics(q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids, g_cams)
    assert plain.num_no_common == 0 and plain.common is None


def _samples(q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids, g_cams):
    """ReIDDataSamples with image paths, queries first."""
    out = []
    for group, emb, vis, pids, cams in ((True, q_emb, q_vis, q_pids, q_cams),
                                        (False, g_emb, g_vis, g_pids, g_cams)):
        for i in range(emb.shape[0]):
            name = 'query' if group else 'gallery'
            s = ReIDDataSample(metainfo=dict(pid=pids[i], camid=cams[i], is_query=group,
                                             img_path=f'/data/{name}/{i:04d}.jpg'))
            out.append(s.set_prediction(emb[i], vis[i], ('a', 'b')))
    return out


def test_reid_metric_shows_the_no_common_queries_in_table_and_dict():
    handler = LogRecords(logging.INFO)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        metric = ReIDMetric(protocol='market', topk=(1, ))
        samples = _samples(*_no_common_case())
        metric.process({}, samples)
        out = metric.evaluate(len(samples))
    finally:
        logger.removeHandler(handler)
    assert out['reid/no_common_queries'] == 1
    assert out['reid/rank1'] == pytest.approx(50.0)
    assert out['reid/mAP'] == pytest.approx(100 * 19 / 24)
    text = '\n'.join(handler.messages)
    assert '1 of 2 ranked queries share no visible embedding' in text
    table = next(m for m in handler.messages if 'ReID evaluation' in m)
    assert 'no common part' in table
    row = next(line for line in table.splitlines() if 'common part only' in line)
    assert '100.00' in row  # rank-1 and mAP without the query that shows nothing in common


def test_reid_metric_names_the_images_with_nan_embeddings():
    q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids, g_cams = _tiny()
    g_emb[3] = float('nan')
    g_emb[5, 1, 2] = float('nan')
    metric = ReIDMetric(protocol='market')
    samples = _samples(q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids, g_cams)
    metric.process({}, samples)
    with pytest.raises(NonFiniteError) as err:
        metric.evaluate(len(samples))
    msg = str(err.value)
    assert '2 of 6 images' in msg
    assert '/data/gallery/0003.jpg, /data/gallery/0005.jpg' in msg
