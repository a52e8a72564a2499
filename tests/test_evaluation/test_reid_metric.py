"""End-to-end tests of ReIDMetric on fake data samples."""
import json
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mmreidparts.evaluation import ReIDMetric
from mmreidparts.evaluation.functional import part_distance, rank_metrics
from mmreidparts.registry import METRICS
from mmreidparts.structures import ReIDDataSample

NAMES = ('foreground', 'head', 'legs')


def _samples(seed: int = 0, num_q: int = 9, num_g: int = 22):
    """Fake predictions: ReIDDataSample objects with embeddings [3, 4]."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(num_q + num_g):
        sample = ReIDDataSample(metainfo=dict(
            pid=int(torch.randint(0, 5, (1, ), generator=gen)),
            camid=int(torch.randint(0, 3, (1, ), generator=gen)),
            is_query=i < num_q))
        vis = (torch.rand(3, generator=gen) < 0.7).float()
        vis[0] = 1.0  # foreground always visible
        sample.set_prediction(torch.randn(3, 4, generator=gen), vis, NAMES)
        out.append(sample)
    return out


def _expected(samples, **kwargs):
    """Metrics of the same samples through the functional core (fractions)."""
    q = [s for s in samples if s.is_query]
    g = [s for s in samples if not s.is_query]

    def stack(group, key):
        return torch.stack([getattr(s, key) for s in group])

    dist_mat = part_distance(stack(q, 'embeddings'), stack(q, 'visibility'),
                             stack(g, 'embeddings'), stack(g, 'visibility'))
    return rank_metrics(dist_mat, [s.pid for s in q], [s.pid for s in g],
                        [s.camid for s in q], [s.camid for s in g], **kwargs)


def _run(metric, samples, batch=4, as_dict=False, size=None):
    for start in range(0, len(samples), batch):
        chunk = samples[start:start + batch]
        metric.process({}, [s.to_dict() for s in chunk] if as_dict else chunk)
    return metric.evaluate(size or len(samples))


@pytest.mark.parametrize('as_dict', [False, True])
def test_end_to_end_matches_functional(as_dict):
    samples = _samples()
    metric = ReIDMetric(chunk_size=2)
    out = _run(metric, samples, as_dict=as_dict)
    ref = _expected(samples, max_rank=10)
    assert set(out) == {f'reid/{k}' for k in ('rank1', 'rank5', 'rank10', 'mAP', 'mINP',
                                                'no_common_queries')}
    assert out['reid/rank1'] == pytest.approx(100 * ref.cmc[0].item())
    assert out['reid/rank5'] == pytest.approx(100 * ref.cmc[4].item())
    assert out['reid/mAP'] == pytest.approx(100 * ref.mAP)
    assert out['reid/mINP'] == pytest.approx(100 * ref.mINP)
    assert metric.results == []  # cleared for the next evaluation


def test_hand_made_samples_in_percent():
    # one part; query pid 1 cam 0. Gallery distances: g0 0 (pid 1, cam 0: ignored),
    # g1 1 (pid 2), g2 2 (pid 1) -> the match is at rank 2: rank1 0, rank5 100, mAP 50.
    def make(value, pid, camid, is_query):
        s = ReIDDataSample(metainfo=dict(pid=pid, camid=camid, is_query=is_query))
        return s.set_prediction(torch.tensor([[value, 0.0]]))

    samples = [make(0.0, 1, 0, True), make(0.0, 1, 0, False), make(1.0, 2, 1, False),
               make(2.0, 1, 1, False)]
    out = _run(ReIDMetric(prefix='test'), samples)
    assert out == pytest.approx({'test/rank1': 0.0, 'test/rank5': 100.0,
                                 'test/rank10': 100.0, 'test/mAP': 50.0, 'test/mINP': 50.0,
                                 'test/no_common_queries': 0})


def test_built_from_registry_with_options():
    metric = METRICS.build(dict(type='ReIDMetric', metric='cosine', protocol='all',
                                topk=(1, 3), per_part=True, rerank=dict(k1=4, k2=2)))
    samples = _samples(seed=1)
    out = _run(metric, samples)
    for name in NAMES:
        assert f'reid/{name}_rank1' in out and f'reid/{name}_mAP' in out
    assert {'reid/rank1', 'reid/rank3', 'reid/rerank_rank1', 'reid/rerank_mAP'} <= set(out)
    # a part alone: the foreground (always visible) equals the distance on part 0 only
    q = [s for s in samples if s.is_query]
    g = [s for s in samples if not s.is_query]
    d0 = part_distance(torch.stack([s.embeddings[:1] for s in q]), torch.ones(len(q), 1),
                       torch.stack([s.embeddings[:1] for s in g]), torch.ones(len(g), 1),
                       metric='cosine')
    ref = rank_metrics(d0, [s.pid for s in q], [s.pid for s in g], [s.camid for s in q],
                       [s.camid for s in g], max_rank=3, protocol='all')
    assert out['reid/foreground_mAP'] == pytest.approx(100 * ref.mAP)


def test_bad_samples_are_reported():
    metric = ReIDMetric()
    with pytest.raises(KeyError, match="'embeddings'"):
        metric.process({}, [dict(pid=1, camid=0, is_query=True)])
    gallery_only = [s for s in _samples() if not s.is_query]
    metric = ReIDMetric()
    metric.process({}, gallery_only)
    with pytest.raises(ValueError, match='no query samples'):
        metric.compute_metrics(metric.results)
    samples = _samples()
    samples[-1].set_prediction(torch.randn(2, 4), torch.ones(2), ('a', 'b'))
    metric = ReIDMetric()
    metric.process({}, samples)
    with pytest.raises(ValueError, match='different \\[P, D\\]'):
        metric.compute_metrics(metric.results)
    with pytest.raises(ValueError, match='protocol must be one of'):
        ReIDMetric(protocol='duke')
    with pytest.raises(ValueError, match='unknown rerank keys'):
        ReIDMetric(rerank=dict(k3=1))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _worker(rank, world_size, port, round_up, out_dir):
    """One rank: process the shard mmengine's DefaultSampler would give it."""
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=world_size)
    samples = _samples()
    size = len(samples)
    if round_up:  # pad by repeating the first samples, as DefaultSampler(round_up=True)
        total = -(-size // world_size) * world_size
        indices = (list(range(size)) * 2)[:total]
    else:  # uneven shards
        indices = list(range(size))
    shard = [samples[i] for i in indices[rank::world_size]]
    metric = ReIDMetric(collect_dir=f'{out_dir}/collect_{int(round_up)}')
    result = _run(metric, shard, batch=3, as_dict=True, size=size)
    result['shard'] = len(shard)
    with open(f'{out_dir}/rank{rank}_{int(round_up)}.json', 'w') as f:
        json.dump(result, f)
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.parametrize('round_up', [False, True])
def test_distributed_equals_single_process(tmp_path, round_up):
    # 31 samples over 2 ranks: shards of 16 and 15 (uneven), or 16 and 16 with the first
    # sample repeated at the end of rank 1 (padding that collect_results must drop)
    world_size = 2
    mp.spawn(_worker, args=(world_size, _free_port(), round_up, str(tmp_path)),
             nprocs=world_size, join=True)
    single = _run(ReIDMetric(), _samples())
    for rank in range(world_size):
        with open(tmp_path / f'rank{rank}_{int(round_up)}.json') as f:
            result = json.load(f)
        shard = result.pop('shard')
        assert shard == (16 if round_up or rank == 0 else 15)
        assert result == pytest.approx(single)


def test_process_keeps_compact_cpu_copies():
    # embeddings that are views of one batch tensor are stored with their own storage
    batch = torch.randn(4, 3, 8, dtype=torch.float64)
    samples = []
    for i in range(4):
        s = ReIDDataSample(metainfo=dict(pid=i % 2, camid=i, is_query=i == 0))
        samples.append(s.set_prediction(batch[i, :, :4], torch.ones(3), NAMES))
    metric = ReIDMetric()
    metric.process({}, samples)
    emb = metric.results[1]['embeddings']
    assert emb.dtype == torch.float32 and emb.untyped_storage().nbytes() == 3 * 4 * 4
    assert torch.equal(emb, batch[1, :, :4].float())
    assert metric.results[0]['is_query'] and metric.results[1]['pid'] == 1
