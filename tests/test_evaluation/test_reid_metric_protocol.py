"""ReIDMetric: the protocol taken from the dataset's metainfo, and samples freed when stacked."""
import weakref
from typing import List

import pytest
import torch
from _log_records import LogRecords
from mmengine.logging import MMLogger

from mmreidparts.evaluation import ReIDMetric
from mmreidparts.evaluation.metrics import reid_metric
from mmreidparts.structures import ReIDDataSample


def _sample(value: float, pid: int, camid: int, is_query: bool) -> ReIDDataSample:
    """One sample with a single 2-d embedding ``[value, 0]``."""
    s = ReIDDataSample(metainfo=dict(pid=pid, camid=camid, is_query=is_query))
    return s.set_prediction(torch.tensor([[value, 0.0]]))


def _hand_made() -> List[ReIDDataSample]:
    """Query pid 1 cam 0; gallery at distance 0 (pid 1 cam 0), 1 (pid 2), 2 (pid 1 cam 1)."""
    return [_sample(0.0, 1, 0, True), _sample(0.0, 1, 0, False), _sample(1.0, 2, 1, False),
            _sample(2.0, 1, 1, False)]


# Under 'market' the gallery image of the query's id and camera is ignored: the only match
# is at rank 2 (AP 1/2, mINP 1/2). Under 'all' it counts: matches at ranks 1 and 3,
# AP = (1/1 + 2/3) / 2 = 5/6, mINP = 2/3.
MARKET = {'rank1': 0.0, 'rank5': 100.0, 'rank10': 100.0, 'mAP': 50.0, 'mINP': 50.0,
          'no_common_queries': 0}
ALL = {'rank1': 100.0, 'rank5': 100.0, 'rank10': 100.0, 'mAP': 500 / 6, 'mINP': 200 / 3,
       'no_common_queries': 0}


@pytest.fixture
def warnings_logged():
    """Warning messages of the current MMLogger during the test."""
    handler = LogRecords()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def _evaluate(metric: ReIDMetric, samples: List[ReIDDataSample]) -> dict:
    metric.process({}, samples)
    out = metric.evaluate(len(samples))
    return {k.split('/', 1)[1]: v for k, v in out.items()}


def test_auto_is_the_default_and_follows_dataset_meta(warnings_logged):
    metric = ReIDMetric()
    assert metric.protocol == 'auto'
    metric.dataset_meta = dict(dataset_name='partial_reid', eval_protocol='all')
    assert metric.resolve_protocol() == 'all'
    assert _evaluate(metric, _hand_made()) == pytest.approx(ALL)
    metric.dataset_meta = dict(dataset_name='market1501', eval_protocol='market')
    assert _evaluate(metric, _hand_made()) == pytest.approx(MARKET)
    assert warnings_logged == []


def test_auto_without_dataset_protocol_falls_back_to_market(warnings_logged):
    metric = ReIDMetric()
    assert _evaluate(metric, _hand_made()) == pytest.approx(MARKET)  # no dataset_meta
    metric.dataset_meta = dict(dataset_name='custom')  # metainfo without a protocol
    assert _evaluate(metric, _hand_made()) == pytest.approx(MARKET)
    fallbacks = [m for m in warnings_logged if "no 'eval_protocol'" in m]
    assert len(fallbacks) == 2 and "using 'market'" in fallbacks[0]


def test_explicit_protocol_wins_with_a_warning(warnings_logged):
    metric = ReIDMetric(protocol='all')
    metric.dataset_meta = dict(dataset_name='market1501', eval_protocol='market')
    assert _evaluate(metric, _hand_made()) == pytest.approx(ALL)
    assert any("protocol 'all'" in m and "declares 'market'" in m for m in warnings_logged)


def test_bad_protocols_are_reported():
    with pytest.raises(ValueError, match='protocol must be one of'):
        ReIDMetric(protocol='duke')
    metric = ReIDMetric()
    metric.dataset_meta = dict(eval_protocol='duke')
    with pytest.raises(ValueError, match="metainfo\\['eval_protocol'\\] is 'duke'"):
        metric.resolve_protocol()


def test_samples_are_freed_before_ranking(monkeypatch):
    samples = _hand_made() + [_sample(3.0, 2, 0, True)]
    metric = ReIDMetric(protocol='all')
    metric.process({}, samples)
    # the stored embeddings are the metric's own copies, referenced only by its results
    refs = [weakref.ref(r['embeddings']) for r in metric.results]
    seen = {}
    real = reid_metric.part_rank_metrics

    def spy(q_emb, q_vis, q_pids, q_camids, g_emb, *args, **kwargs):
        seen['alive'] = sum(ref() is not None for ref in refs)
        seen['q'], seen['g'] = q_emb.clone(), g_emb.clone()
        seen['q_pids'] = q_pids.tolist()
        return real(q_emb, q_vis, q_pids, q_camids, g_emb, *args, **kwargs)

    monkeypatch.setattr(reid_metric, 'part_rank_metrics', spy)
    out = metric.evaluate(len(samples))
    assert seen['alive'] == 0 and metric.results == []
    # queries and gallery keep their order in the results: values 0, 3 and 0, 1, 2
    assert seen['q'][:, 0, 0].tolist() == [0.0, 3.0] and seen['q_pids'] == [1, 2]
    assert seen['g'][:, 0, 0].tolist() == [0.0, 1.0, 2.0]
    # query 1 (pid 2, value 3): nearest gallery is g2 (pid 1), then g1 (pid 2) at rank 2
    assert out['reid/rank1'] == pytest.approx(50.0)
    assert out['reid/mAP'] == pytest.approx(100 * (5 / 6 + 1 / 2) / 2)


def test_compute_metrics_empties_the_list_only_when_asked():
    metric = ReIDMetric(protocol='market')
    metric.process({}, _hand_made())
    results = list(metric.results)
    assert metric.compute_metrics(results) == pytest.approx(MARKET)
    assert len(results) == 4  # a caller may evaluate the same results again
    # the query against g2 alone (pid 1, other camera): the match is at rank 1
    assert metric.compute_metrics([results[0], results[3]]) == pytest.approx(
        {'rank1': 100.0, 'rank5': 100.0, 'rank10': 100.0, 'mAP': 100.0, 'mINP': 100.0,
         'no_common_queries': 0})
    assert metric.compute_metrics(results, release=True) == pytest.approx(MARKET)
    assert results == []
