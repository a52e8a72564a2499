"""Tracklet evaluation in ReIDMetric: pooled frames, MARS's gallery rule, any P embeddings."""
import random

import pytest
import torch

from mmreidparts.evaluation.functional.tracklets import tracklet_samples
from mmreidparts.evaluation.metrics import ReIDMetric

# tracklet -> (pid, camid, is_query, frames); frame descriptors in 2-D
TRACKLETS = {
    0: (1, 0, True, [(1.0, 0.0), (0.6, 0.8)]),  # mean (0.8, 0.4) -> (0.894, 0.447)
    1: (1, 1, False, [(0.0, 1.0)]),
    2: (2, 1, False, [(1.0, 0.0), (1.0, 0.0)]),
    3: (2, 0, True, [(0.8, 0.6)]),
}


def frames(query_in_gallery=True, order=None):
    out = []
    for tid, (pid, camid, is_query, embs) in TRACKLETS.items():
        for emb in embs:
            out.append(dict(embeddings=torch.tensor([emb]), visibility=torch.ones(1), pid=pid,
                            camid=camid, is_query=is_query, tracklet_id=tid,
                            in_gallery=query_in_gallery or not is_query,
                            embedding_names=('bilinear', )))
    if order is not None:
        random.Random(order).shuffle(out)
    return out


def evaluate(samples, **kwargs):
    metric = ReIDMetric(protocol='market', topk=(1, 5), tracklets=True, **kwargs)
    metric.process(None, samples)
    return metric.compute_metrics(metric.results)


def test_mars_gallery_holds_the_queries_hidden_from_themselves():
    # query 0 (pid 1, cam 0): tracklet 3 (0.032), 2 (0.211), then its match 1 -> AP 1/3
    # query 3 (pid 2, cam 0): tracklet 0 (0.032), then its match 2 (0.4) -> AP 1/2
    res = evaluate(frames(query_in_gallery=True))
    assert res['rank1'] == 0.0 and res['rank5'] == 100.0
    assert res['mAP'] == pytest.approx(100 * (1 / 3 + 1 / 2) / 2)
    # without the queries in the gallery: AP 1/2 and 1
    res = evaluate(frames(query_in_gallery=False))
    assert res['rank1'] == 50.0 and res['mAP'] == pytest.approx(75.0)


def test_tracklet_descriptor_is_the_normalised_mean_whatever_the_frame_order():
    base = {(s['tracklet_id'], s['is_query']): s for s in _pooled(frames())}
    assert torch.allclose(base[(0, True)]['embeddings'],
                          torch.tensor([[0.8, 0.4]]) / torch.tensor([0.8, 0.4]).norm())
    for (tid, _), sample in base.items():
        assert float(sample['embeddings'].norm()) == pytest.approx(1.0)
    for seed in range(3):
        shuffled = {(s['tracklet_id'], s['is_query']): s for s in _pooled(frames(order=seed))}
        for key, sample in base.items():
            assert torch.allclose(shuffled[key]['embeddings'], sample['embeddings'])
    assert evaluate(frames(order=5)) == evaluate(frames())


def _pooled(samples):
    metric = ReIDMetric(protocol='market', tracklets=True)
    metric.process(None, samples)
    assert len(metric.results) == 4  # one running sum per tracklet, not one per frame
    return tracklet_samples(metric.results)


def test_parts_are_pooled_over_the_frames_that_show_them():
    samples = [
        dict(embeddings=torch.tensor([[1.0, 0.0], [0.0, 2.0]]), visibility=torch.tensor([1.0, 0]),
             pid=1, camid=0, is_query=False, tracklet_id=7),
        dict(embeddings=torch.tensor([[0.0, 1.0], [3.0, 4.0]]), visibility=torch.tensor([1.0, 1]),
             pid=1, camid=0, is_query=False, tracklet_id=7),
    ]
    metric = ReIDMetric(tracklets=dict(normalize=False, visibility='mean'))
    metric.process(None, samples)
    out = tracklet_samples(metric.results, normalize=False, visibility='mean')
    assert len(out) == 1 and not out[0]['is_query']  # in_gallery defaults to not is_query
    assert torch.allclose(out[0]['embeddings'], torch.tensor([[0.5, 0.5], [3.0, 4.0]]))
    assert torch.allclose(out[0]['visibility'], torch.tensor([1.0, 0.5]))
    out = tracklet_samples(metric.results, normalize=True, visibility='max')
    assert torch.allclose(out[0]['embeddings'][1], torch.tensor([0.6, 0.8]))
    assert torch.equal(out[0]['visibility'], torch.ones(2))


def test_frames_split_across_processes_give_the_same_result():
    samples = frames()
    ranks = [ReIDMetric(protocol='market', topk=(1, 5), tracklets=True) for _ in range(2)]
    for i, sample in enumerate(samples):  # the distributed sampler's interleaving
        ranks[i % 2].process(None, [sample])
    collected = ranks[0].results + ranks[1].results
    assert ranks[0].compute_metrics(collected) == evaluate(frames())


def test_inconsistent_or_missing_tracklet_information_is_named():
    samples = frames()
    del samples[0]['tracklet_id']
    with pytest.raises(KeyError, match='tracklet_id'):
        evaluate(samples)
    samples = frames()
    samples[1]['pid'] = 5  # the second frame of tracklet 0
    with pytest.raises(ValueError, match='tracklet 0: its frames disagree on pid'):
        evaluate(samples)
    with pytest.raises(ValueError, match='tracklets'):
        ReIDMetric(tracklets=dict(pooling='median'))
