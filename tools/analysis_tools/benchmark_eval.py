"""Time and memory of the ReID evaluator on random features.

Example (Occluded-Duke test split, 9 embeddings of 512-d):

    python tools/analysis_tools/benchmark_eval.py --num-query 2210 --num-gallery 17661 \
        --parts 9 --dim 512 --threads 2

Prints the wall time of the distance step and of the ranking step, the peak resident
memory above the features (process RSS sampled in a thread), and the GFLOP/s of the
distance step next to plain ``torch.matmul`` calls of the same shapes (``[chunk, D] x
[D, G]`` per part, the same total FLOPs, same chunking) timed the same way.
"""
import argparse
import os
import resource
import threading
import time
from typing import Dict

import psutil
import torch

from mmreidparts.evaluation.functional import auto_chunk_size, part_rank_metrics


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


def matmul_reference(q_emb: torch.Tensor, g_emb: torch.Tensor, chunk: int) -> float:
    """Seconds of plain ``[chunk, D] x [D, G]`` matmuls per part over all queries."""
    num_q, parts, _ = q_emb.shape
    # strided views (rows of one part, unit stride along D): BLAS reads them without copies
    q_parts = [q_emb[:, p] for p in range(parts)]  # P x [Q, D]
    g_parts = [g_emb[:, p] for p in range(parts)]  # P x [G, D]
    out = q_emb.new_empty(min(chunk, num_q), g_emb.shape[0])
    tic = time.perf_counter()
    for start in range(0, num_q, chunk):
        stop = min(start + chunk, num_q)
        for p in range(parts):
            torch.matmul(q_parts[p][start:stop], g_parts[p].t(), out=out[:stop - start])
    return time.perf_counter() - tic


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
    chunk = args.chunk_size or auto_chunk_size(ng)
    feat_bytes = sum(t.numel() * t.element_size() for t in (q_emb, g_emb, q_vis, g_vis))

    # the plain matmul is timed right before and right after the evaluator, so that
    # both see the same machine load (other processes share the CPU)
    ref_before = None if args.skip_matmul else matmul_reference(q_emb, g_emb, chunk)
    process = psutil.Process(os.getpid())
    rss_before = process.memory_info().rss
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    timings: Dict[str, float] = {}
    with PeakRSS() as peak:
        tic = time.perf_counter()
        result = part_rank_metrics(q_emb, q_vis, q_pids, q_cams, g_emb, g_vis, g_pids,
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
    dist_gflops = flops / timings['distance'] / 1e9
    print(f'distance step: {dist_gflops:.1f} GFLOP/s ({flops / 1e9:.1f} GFLOP, gallery '
          'preparation included)')
    if ref_before is not None:
        ref_after = matmul_reference(q_emb, g_emb, chunk)
        ref_gflops = flops / ((ref_before + ref_after) / 2) / 1e9
        print(f'plain matmul: {ref_before:.2f} s before, {ref_after:.2f} s after, '
              f'{ref_gflops:.1f} GFLOP/s; distance / matmul = {dist_gflops / ref_gflops:.2f}')
    print(f'load average: {" ".join(f"{x:.2f}" for x in os.getloadavg())}')


if __name__ == '__main__':
    main()
