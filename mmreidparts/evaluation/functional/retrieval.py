"""Streaming evaluation: part distances of query chunks go straight into the ranking."""
import time
from typing import Dict, Optional, Sequence

import torch

from . import ranking
from .part_distance import check_pair, operand_distance, prepare_operand

# Bytes of working memory per (query, gallery) pair of a chunk: distance, scratch,
# normaliser, ranking keys and bins, masks.
_BYTES_PER_PAIR = 48
_DEFAULT_CHUNK_BYTES = 384 * 2**20


def auto_chunk_size(num_gallery: int, budget_bytes: int = _DEFAULT_CHUNK_BYTES) -> int:
    """Queries per chunk so that a chunk's working memory stays near ``budget_bytes``."""
    return int(min(1024, max(16, budget_bytes // (_BYTES_PER_PAIR * max(num_gallery, 1)))))


def part_rank_metrics(q_emb: torch.Tensor,
                      q_vis: torch.Tensor,
                      q_pids: ranking.ArrayLike,
                      q_camids: ranking.ArrayLike,
                      g_emb: torch.Tensor,
                      g_vis: torch.Tensor,
                      g_pids: ranking.ArrayLike,
                      g_camids: ranking.ArrayLike,
                      metric: str = 'euclidean',
                      normalize: bool = False,
                      max_rank: int = 50,
                      protocol: str = 'market',
                      num_repeats: int = 10,
                      seed: int = 0,
                      chunk_size: Optional[int] = None,
                      timings: Optional[Dict[str, float]] = None,
                      q_paths: Optional[Sequence[Optional[str]]] = None,
                      g_paths: Optional[Sequence[Optional[str]]] = None,
                      check_finite: bool = True) -> ranking.RankMetrics:
    """Rank every query against the gallery by the visibility-weighted part distance.

    The gallery operand is prepared once (about the size of the gallery embeddings);
    then ``chunk_size`` queries at a time get their ``[chunk, G]`` distances, which are
    ranked at once, so no ``Q x G`` or ``Q x G x P`` tensor is ever built.

    Args:
        q_emb, g_emb: ``[Q, P, D]`` and ``[G, P, D]`` embeddings.
        q_vis, g_vis: ``[Q, P]`` and ``[G, P]`` visibility.
        q_pids, q_camids, g_pids, g_camids: ids and cameras of queries and gallery.
        metric, normalize: see :func:`part_distance`.
        max_rank, protocol, num_repeats, seed: see :func:`rank_metrics`.
        chunk_size: queries per chunk; None picks one from the gallery size
            (:func:`auto_chunk_size`).
        timings: optional dict; seconds spent are added under ``'distance'`` (gallery
            preparation included) and ``'ranking'``.
        q_paths, g_paths: image paths of the rows, named in the error about NaN or Inf.
        check_finite: raise :class:`NonFiniteError` when an embedding or a visibility is
            NaN or Inf (one pass over the inputs); False for inputs checked already.

    Returns:
        :class:`RankMetrics` over all queries, with ``no_common`` (queries that share
        no visible part with any gallery image: every distance is ``+inf`` and they are
        ranked in gallery order), ``num_no_common`` (those among the valid queries, which
        count in the figures) and ``common`` (the figures without them, None when there
        are none).
    """
    check_pair(q_emb, q_vis, g_emb, g_vis, q_paths, g_paths, finite=check_finite)
    ranking.check_protocol(protocol)
    q_pids = ranking.as_id_tensor(q_pids, 'q_pids')
    q_camids = ranking.as_id_tensor(q_camids, 'q_camids')
    num_q, num_g = q_emb.shape[0], g_emb.shape[0]
    if num_q == 0:
        raise ValueError('no query embeddings (q_emb has 0 rows)')
    if num_g == 0:
        raise ValueError('no gallery embeddings (g_emb has 0 rows)')
    if q_pids.numel() != num_q or q_camids.numel() != num_q:
        raise ValueError(f'q_pids ({q_pids.numel()}) and q_camids ({q_camids.numel()}) '
                         f'must have one entry per query ({num_q})')
    gallery = ranking.GalleryIndex(g_pids, g_camids)
    if gallery.size != num_g:
        raise ValueError(f'g_pids ({gallery.size}) must have one entry per gallery '
                         f'embedding ({num_g})')
    if chunk_size is None:
        chunk_size = auto_chunk_size(num_g)
    if chunk_size < 1:
        raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
    timings = {} if timings is None else timings
    timings.setdefault('distance', 0.0)
    timings.setdefault('ranking', 0.0)

    tic = time.perf_counter()
    g_op = prepare_operand(g_emb, g_vis, metric, normalize, side='gallery')
    g_vis_t = g_vis.to(g_op.dtype)
    rows = min(chunk_size, num_q)
    out_buf = g_op.new_empty(rows, num_g)  # [chunk, G]
    scratch = g_op.new_empty(rows, num_g) if metric == 'euclidean' else None
    timings['distance'] += time.perf_counter() - tic

    blocks = []
    for start in range(0, num_q, chunk_size):
        stop = min(start + chunk_size, num_q)
        tic = time.perf_counter()
        q_op = prepare_operand(q_emb[start:stop], q_vis[start:stop], metric, normalize,
                               side='query')
        n = stop - start
        dist = operand_distance(q_op, q_vis[start:stop], g_op, g_vis_t, metric,
                                out=out_buf[:n],
                                buffer=None if scratch is None else scratch[:n])
        toc = time.perf_counter()
        timings['distance'] += toc - tic
        blocks.append(
            ranking.rank_queries(dist, q_pids[start:stop], q_camids[start:stop], gallery,
                                 max_rank, protocol, num_repeats, seed, query_offset=start))
        timings['ranking'] += time.perf_counter() - toc
    ranks = ranking.cat_ranks(blocks)
    # nothing in common with any gallery image: no part visible on both sides  # [Q]
    no_common = ~((q_vis > 0) & (g_vis > 0).any(0)[None]).any(1).cpu()
    counted = no_common & ranks.valid
    num_no_common = int(counted.sum())
    common = ranking.summarize(ranks._replace(valid=ranks.valid & ~counted)) \
        if num_no_common else None
    return ranking.summarize(ranks)._replace(no_common=no_common,
                                             num_no_common=num_no_common, common=common)
