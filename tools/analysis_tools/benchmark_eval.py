"""Time and memory of the ReID evaluator on random features.

Example (Occluded-Duke test split, 9 embeddings of 512-d):

    python tools/analysis_tools/benchmark_eval.py --num-query 2210 --num-gallery 17661 \
        --parts 9 --dim 512 --threads 2

Prints the wall time of the distance step and of the ranking step, the peak resident
memory above the features (process RSS sampled in a thread, and the ``ru_maxrss``
delta), and the GFLOP/s of the distance step next to plain ``torch.matmul`` calls of
the same shapes (``[chunk, D] x [D, G]`` per part, the same total FLOPs, same chunking),
timed chunk by chunk right next to each other because other processes share the CPU.
"""
import argparse
import os
import resource
import threading
import time
from typing import Dict, Tuple

import psutil
import torch

from mmreidparts.evaluation import functional as F


class PeakRSS:
    """Sample the process resident set size in a background thread; keep the peak."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.process = psutil.Process(os.getpid())
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> 'PeakRSS':
        self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def parse_args() -> argparse.Namespace:
    """Command line of the benchmark."""
    parser = argparse.ArgumentParser(description='Benchmark the ReID evaluator')
    parser.add_argument('--num-query', type=int, default=2210)
    parser.add_argument('--num-gallery', type=int, default=17661)
    parser.add_argument('--parts', type=int, default=9)
    parser.add_argument('--dim', type=int, default=512)
    parser.add_argument('--chunk-size', type=int, default=None,
                        help='queries per chunk (default: picked from the gallery size)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (default: torch default)')
    parser.add_argument('--metric', choices=['euclidean', 'cosine'], default='euclidean')
    parser.add_argument('--normalize', action='store_true', help='L2-normalise embeddings')
    parser.add_argument('--protocol', default='market', choices=['market', 'all'])
    parser.add_argument('--num-ids', type=int, default=None,
                        help='identities (default: one per 16 gallery images)')
    parser.add_argument('--visible-rate', type=float, default=0.8)
    parser.add_argument('--skip-matmul', action='store_true',
                        help='do not time the plain matmul reference')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def paired_timing(q_emb: torch.Tensor, q_vis: torch.Tensor, g_emb: torch.Tensor,
                  g_vis: torch.Tensor, chunk: int, metric: str,
                  normalize: bool) -> Tuple[float, float]:
    """Seconds of the distance step and of plain matmuls of the same shapes, chunk by chunk.

    For each query chunk both are timed back to back (in alternating order), so that
    they see the same machine load. The plain reference is ``[chunk, D] x [D, G]`` per
    part into a reused output (the same FLOPs as the distance step); the distance step
    includes the one-off gallery preparation.
    """
    num_q, parts, _ = q_emb.shape
    # strided views (rows of one part, unit stride along D): BLAS reads them without copies
    q_parts = [q_emb[:, p] for p in range(parts)]  # P x [Q, D]
    g_parts = [g_emb[:, p] for p in range(parts)]  # P x [G, D]
    rows = min(chunk, num_q)
    ref_out = q_emb.new_empty(rows, g_emb.shape[0])
    out = q_emb.new_empty(rows, g_emb.shape[0])
    scratch = q_emb.new_empty(rows, g_emb.shape[0])
    tic = time.perf_counter()
    g_op = F.prepare_operand(g_emb, g_vis, metric, normalize, side='gallery')
    t_dist, t_ref = time.perf_counter() - tic, 0.0
    for i, start in enumerate(range(0, num_q, chunk)):
        stop = min(start + chunk, num_q)
        n = stop - start
        for step in ((0, 1) if i % 2 == 0 else (1, 0)):
            tic = time.perf_counter()
            if step == 0:
                for p in range(parts):
                    torch.matmul(q_parts[p][start:stop], g_parts[p].t(), out=ref_out[:n])
                t_ref += time.perf_counter() - tic
            else:
                q_op = F.prepare_operand(q_emb[start:stop], q_vis[start:stop], metric,
                                         normalize, side='query')
                F.operand_distance(q_op, q_vis[start:stop], g_op, g_vis, metric,
                                   out=out[:n], buffer=scratch[:n])
                t_dist += time.perf_counter() - tic
    return t_dist, t_ref


def main() -> None:
    """Run the benchmark and print its figures."""
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    nq, ng, parts, dim = args.num_query, args.num_gallery, args.parts, args.dim
    num_ids = args.num_ids or max(1, ng // 16)
    num_cams = 8
    q_emb = torch.randn(nq, parts, dim, generator=gen)  # [Q, P, D]
    g_emb = torch.randn(ng, parts, dim, generator=gen)  # [G, P, D]
    q_vis = (torch.rand(nq, parts, generator=gen) < args.visible_rate).float()
    g_vis = (torch.rand(ng, parts, generator=gen) < args.visible_rate).float()
    g_pids = torch.randint(0, num_ids, (ng, ), generator=gen)
    q_pids = g_pids[torch.randint(0, ng, (nq, ), generator=gen)]
    q_cams = torch.randint(0, num_cams, (nq, ), generator=gen)
    g_cams = torch.randint(0, num_cams, (ng, ), generator=gen)
    chunk = args.chunk_size or F.auto_chunk_size(ng)
    feat_bytes = sum(t.numel() * t.element_size() for t in (q_emb, g_emb, q_vis, g_vis))

    process = psutil.Process(os.getpid())
    rss_before = process.memory_info().rss
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    timings: Dict[str, float] = {}
    with PeakRSS() as peak:
        tic = time.perf_counter()
        result = F.part_rank_metrics(q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids,
                                     g_cams, metric=args.metric, normalize=args.normalize,
                                     protocol=args.protocol, chunk_size=chunk,
                                     timings=timings)
        total = time.perf_counter() - tic
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    flops = 2.0 * nq * ng * parts * dim
    gib = 2.0**30
    print(f'sizes: Q={nq} G={ng} P={parts} D={dim} ids={num_ids} chunk={chunk} '
          f'threads={torch.get_num_threads()} metric={args.metric} '
          f'normalize={args.normalize} protocol={args.protocol}')
    print(f'features: {feat_bytes / gib:.3f} GiB')
    print(f'result: rank1={100 * float(result.cmc[0]):.2f} mAP={100 * result.mAP:.2f} '
          f'mINP={100 * result.mINP:.2f} valid={result.num_valid} '
          f'skipped={result.num_skipped}')
    print(f'time: total {total:.2f} s = distance {timings["distance"]:.2f} s + ranking '
          f'{timings["ranking"]:.2f} s')
    print(f'peak memory above features: {(peak.peak - rss_before) / gib:.3f} GiB (RSS '
          f'sampled), {max(0, maxrss_after - maxrss_before) / gib:.3f} GiB (ru_maxrss delta)')
    print(f'distance step: {flops / timings["distance"] / 1e9:.1f} GFLOP/s '
          f'({flops / 1e9:.1f} GFLOP, gallery preparation included)')
    if not args.skip_matmul:
        t_dist, t_ref = paired_timing(q_emb, q_vis, g_emb, g_vis, chunk, args.metric,
                                      args.normalize)
        print(f'paired, chunk by chunk: distance step {t_dist:.2f} s = '
              f'{flops / t_dist / 1e9:.1f} GFLOP/s, plain matmul {t_ref:.2f} s = '
              f'{flops / t_ref / 1e9:.1f} GFLOP/s; distance / matmul = {t_ref / t_dist:.2f}')
    print(f'load average: {" ".join(f"{x:.2f}" for x in os.getloadavg())}')


if __name__ == '__main__':
    main()
