"""CMC, AP and INP of ranked galleries, without sorting the gallery.

Order. Each query ranks the gallery by ``(distance, gallery index)``: ties are broken
by the position in the gallery, so the result is deterministic (a stable sort gives
the same order). ``+inf`` (nothing mutually visible) ranks after every finite distance;
distances are compared in float32.

Protocols (which gallery images a query is ranked against):

* ``'market'``: gallery images with the query's pid *and* camid are ignored,
* ``'all'``: nothing is filtered (query and gallery cameras differ by construction,
  e.g. Occluded-ReID, Partial-REID, P-DukeMTMC),
* ``'cuhk03_classic'``: single-shot. Market-style filtering, then in each of
  ``num_repeats`` repeats one random gallery image per identity is kept for each query;
  CMC, AP and INP are those of the single-shot gallery, averaged over the repeats (so
  AP = INP = 1 / rank; implementations that compute AP on the whole gallery differ). The
  draw depends only on ``(seed, repeat, query index, gallery index)``, so chunked and
  distributed evaluation give the same numbers.

In every protocol gallery images with pid ``-1`` (junk) are ignored. A query whose
identity has no remaining gallery image is skipped (``valid`` is False).

Method (``'market'``/``'all'``): each distance becomes a unique int64 key
``(order-preserving float32 bits) * 2**32 + gallery index``. The keys of a query's
``n`` positives are sorted (``n`` is small); every gallery entry is binned with
``searchsorted`` among them, the bins of the excluded entries (the query's own id,
junk) are subtracted, and the cumulative counts of negatives give the rank of each
positive: ``rank_k = k + #negatives before positive k``. Then

    CMC@m = 1[rank_0 < m],  AP = mean_k (k + 1) / (rank_k + 1),  INP = n / (rank_{n-1} + 1)

which costs ``O(G log n)`` per query instead of a full ``O(G log G)`` argsort.
"""
from typing import NamedTuple, Optional, Sequence, Union

import numpy as np
import torch

PROTOCOLS = ('market', 'all', 'cuhk03_classic')
JUNK_PID = -1
_KEY_MAX = torch.iinfo(torch.int64).max
_KEY_MIN = torch.iinfo(torch.int64).min
_MAX_GALLERY = 1 << 24  # gallery indices must fit the low bits of the ranking keys

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence[int]]


class QueryRanks(NamedTuple):
    """Per-query results of a block of queries."""

    hits: torch.Tensor  # [Q, max_rank] float64: a match within the top m+1 (mean of draws)
    ap: torch.Tensor  # [Q] float64 average precision (0 for skipped queries)
    inp: torch.Tensor  # [Q] float64 inverse negative penalty (0 for skipped queries)
    valid: torch.Tensor  # [Q] bool: the query has a valid gallery match


class RankMetrics(NamedTuple):
    """Aggregated ranking metrics (fractions in [0, 1])."""

    cmc: torch.Tensor  # [max_rank] float64, CMC curve over the valid queries
    ap: torch.Tensor  # [Q] float64 average precision per query (nan when skipped)
    inp: torch.Tensor  # [Q] float64 INP per query (nan when skipped)
    mAP: float
    mINP: float
    num_valid: int
    num_skipped: int
    # Filled by the part-distance evaluation (part_rank_metrics), defaults elsewhere:
    no_common: Optional[torch.Tensor] = None  # [Q] bool: no part visible in common with
    # any gallery image (every distance +inf, so the query is ranked in gallery order)
    num_no_common: int = 0  # valid queries among them (they count in the figures)
    common: Optional['RankMetrics'] = None  # the figures without them (None if there are none)


def as_id_tensor(values: ArrayLike, name: str) -> torch.Tensor:
    """A 1-D int64 cpu tensor of ids or cameras; a ValueError naming ``name`` otherwise."""
    tensor = torch.as_tensor(np.asarray(values) if not isinstance(values, torch.Tensor)
                             else values)
    if tensor.dim() != 1:
        raise ValueError(f'{name} must be 1-D, got shape {tuple(tensor.shape)}')
    if tensor.is_floating_point() or tensor.dtype == torch.bool:
        raise ValueError(f'{name} must hold integers, got {tensor.dtype}')
    return tensor.long().cpu()


def order_keys(dist: torch.Tensor) -> torch.Tensor:
    """Unique int64 keys of ``[Qc, G]`` distances that sort like (distance, column index)."""
    d = dist.float() + 0.0  # a copy; -0.0 -> +0.0 so that equal distances tie
    bits = d.view(torch.int32)  # [Qc, G]; non-negative floats order like their bits
    if d.numel() and bool(d.min() < 0):
        # negative floats order in reverse of their bit patterns
        bits = torch.where(bits < 0, bits ^ 0x7FFFFFFF, bits)
    keys = bits.long()  # [Qc, G]
    return keys.mul_(1 << 32).add_(torch.arange(d.shape[1]))


class GalleryIndex:
    """Gallery ids and cameras with, per identity, its gallery indices (built once)."""

    def __init__(self, g_pids: ArrayLike, g_camids: ArrayLike) -> None:
        self.pids = as_id_tensor(g_pids, 'g_pids')
        self.camids = as_id_tensor(g_camids, 'g_camids')
        if self.pids.numel() != self.camids.numel():
            raise ValueError(f'g_pids ({self.pids.numel()}) and g_camids '
                             f'({self.camids.numel()}) must have the same length')
        if self.pids.numel() >= _MAX_GALLERY:
            raise ValueError(f'at most {_MAX_GALLERY - 1} gallery images are supported, '
                             f'got {self.pids.numel()}')
        self.size = self.pids.numel()
        self.junk = self.pids == JUNK_PID  # [G]
        self.junk_index = torch.nonzero(self.junk)[:, 0]  # [J]
        self.unique, self.group, counts = torch.unique(
            self.pids, return_inverse=True, return_counts=True)  # [U], [G], [U]
        self.counts = counts
        # gallery indices grouped by id (CSR layout: no padding, whatever the group sizes)
        self.order = torch.argsort(self.group, stable=True)  # [G]
        self.starts = torch.cumsum(counts, 0) - counts  # [U]

    def members(self, groups: torch.Tensor, width: int) -> torch.Tensor:
        """Gallery indices of each group ``[Qc, width]``, padded with G (group -1: all pad)."""
        slot = torch.arange(width)[None]  # [1, width]
        known = groups[:, None] >= 0
        safe = groups.clamp_min(0)
        ok = known & (slot < self.counts[safe][:, None])  # [Qc, width]
        pos = (self.starts[safe][:, None] + slot).clamp_max_(max(self.size - 1, 0))
        idx = self.order[pos] if self.size else torch.zeros_like(pos)
        return torch.where(ok, idx, torch.full_like(idx, self.size))

    def query_groups(self, q_pids: torch.Tensor) -> torch.Tensor:
        """Group of each query id in the gallery, ``-1`` when absent. ``[Qc]`` long."""
        if self.unique.numel() == 0:
            return torch.full_like(q_pids, -1)
        pos = torch.searchsorted(self.unique, q_pids).clamp_max_(self.unique.numel() - 1)
        found = (self.unique[pos] == q_pids) & (q_pids != JUNK_PID)
        return torch.where(found, pos, torch.full_like(pos, -1))


def check_protocol(protocol: str) -> None:
    """Raise a ValueError unless ``protocol`` is one of :data:`PROTOCOLS`."""
    if protocol not in PROTOCOLS:
        raise ValueError(f'protocol must be one of {PROTOCOLS}, got {protocol!r}')


def rank_queries(dist: torch.Tensor,
                 q_pids: ArrayLike,
                 q_camids: ArrayLike,
                 gallery: GalleryIndex,
                 max_rank: int = 50,
                 protocol: str = 'market',
                 num_repeats: int = 10,
                 seed: int = 0,
                 query_offset: int = 0) -> QueryRanks:
    """Rank a block of queries ``dist [Qc, G]`` against the gallery (see module doc).

    Args:
        dist: ``[Qc, G]`` distances of ``Qc`` queries to the whole gallery.
        q_pids: ``[Qc]`` query ids.
        q_camids: ``[Qc]`` query cameras.
        gallery: the gallery's :class:`GalleryIndex`.
        max_rank: length of the CMC curve.
        protocol: ``'market'``, ``'all'`` or ``'cuhk03_classic'``.
        num_repeats: repeats of the ``'cuhk03_classic'`` gallery sampling.
        seed: seed of the ``'cuhk03_classic'`` sampling.
        query_offset: index of the block's first query among all queries (sampling).

    Returns:
        :class:`QueryRanks` of the block.
    """
    check_protocol(protocol)
    q_pids = as_id_tensor(q_pids, 'q_pids')
    q_camids = as_id_tensor(q_camids, 'q_camids')
    if dist.dim() != 2 or dist.shape != (q_pids.numel(), gallery.size):
        raise ValueError(f'dist must be [Q, G] = [{q_pids.numel()}, {gallery.size}], got '
                         f'{tuple(dist.shape)}')
    if q_camids.numel() != q_pids.numel():
        raise ValueError(f'q_pids ({q_pids.numel()}) and q_camids ({q_camids.numel()}) '
                         'must have the same length')
    if max_rank < 1:
        raise ValueError(f'max_rank must be >= 1, got {max_rank}')
    num_q = q_pids.numel()
    keys = order_keys(dist)  # [Qc, G] int64, unique per row
    if protocol == 'cuhk03_classic':
        same_pid = q_pids[:, None] == gallery.pids[None]  # [Qc, G]
        ignored = gallery.junk[None] | (same_pid & (q_camids[:, None] == gallery.camids[None]))
        return _rank_single_shot(keys, same_pid, ~ignored, q_pids, gallery, max_rank,
                                 num_repeats, seed, query_offset)

    # the query's own id in the gallery: positives, or ignored (same camera)
    groups = gallery.query_groups(q_pids)  # [Qc]
    known = groups >= 0
    width = int(gallery.counts[groups[known]].max()) if bool(known.any()) else 0
    hits = torch.zeros(num_q, max_rank, dtype=torch.float64)
    ap = torch.zeros(num_q, dtype=torch.float64)
    inp = torch.zeros(num_q, dtype=torch.float64)
    if width == 0:
        return QueryRanks(hits, ap, inp, torch.zeros(num_q, dtype=torch.bool))
    own = gallery.members(groups, width)  # [Qc, K] gallery indices, padded with G
    own_ok = (own < gallery.size) & known[:, None]  # [Qc, K]
    own = own.clamp_max(gallery.size - 1)
    pos_ok = own_ok.clone()
    if protocol == 'market':
        pos_ok &= gallery.camids[own] != q_camids[:, None]
    own_keys = torch.gather(keys, 1, own)  # [Qc, K]
    pos_keys = own_keys.masked_fill(~pos_ok, _KEY_MAX)
    pos_keys = torch.sort(pos_keys, dim=1).values  # [Qc, K] ascending, pads last
    num_pos = pos_ok.sum(1)  # [Qc]

    # bin of each gallery entry = number of positives ranked before it; the histogram
    # of all entries minus that of the excluded ones (own id, junk) counts negatives
    counts = torch.zeros(num_q, width + 1, dtype=torch.long)
    ones = torch.ones(1, dtype=torch.long)
    bins = torch.searchsorted(pos_keys, keys, right=True)  # [Qc, G] in 0..K
    counts.scatter_add_(1, bins, ones.expand(bins.shape))
    del bins
    excluded = [(own_keys, own_ok)]
    if gallery.junk_index.numel():
        junk_keys = keys[:, gallery.junk_index]  # [Qc, J]
        excluded.append((junk_keys, torch.ones_like(junk_keys, dtype=torch.bool)))
    for ex_keys, ex_ok in excluded:
        ex_bins = torch.searchsorted(pos_keys, ex_keys, right=True)
        counts.scatter_add_(1, ex_bins, -ex_ok.long())
    counts = counts[:, :width]  # [Qc, K] negatives per bin
    # rank (0-based) of the k-th positive = k + negatives in bins 0..k
    ranks = counts.cumsum(1) + torch.arange(width)[None]  # [Qc, K]
    pos_ok = torch.arange(width)[None] < num_pos[:, None]  # [Qc, K] real sorted positives
    valid = num_pos > 0
    ranks = ranks.double()
    precision = (torch.arange(1, width + 1, dtype=torch.float64)[None] / (ranks + 1))
    ap = (precision * pos_ok).sum(1) / num_pos.clamp_min(1)
    last = torch.gather(ranks, 1, (num_pos - 1).clamp_min(0)[:, None])[:, 0]
    inp = torch.where(valid, num_pos / (last + 1), torch.zeros_like(last))
    first = ranks[:, 0]
    hits = (first[:, None] < torch.arange(1, max_rank + 1)[None]).double()
    hits *= valid[:, None]
    return QueryRanks(hits, ap * valid, inp, valid)


def _mix64(x: torch.Tensor) -> torch.Tensor:
    """A 64-bit integer mixing function (splitmix64 finaliser) on int64 tensors."""

    def signed(c: int) -> int:
        return c - (1 << 64) if c >= (1 << 63) else c

    def shr(v: torch.Tensor, s: int) -> torch.Tensor:  # logical right shift
        return (v >> s) & ((1 << (64 - s)) - 1)

    x = x ^ shr(x, 30)
    x = x * signed(0xBF58476D1CE4E5B9)
    x = x ^ shr(x, 27)
    x = x * signed(0x94D049BB133111EB)
    return x ^ shr(x, 31)


def _rank_single_shot(keys: torch.Tensor, same_pid: torch.Tensor, usable: torch.Tensor,
                      q_pids: torch.Tensor, gallery: GalleryIndex, max_rank: int,
                      num_repeats: int, seed: int, query_offset: int) -> QueryRanks:
    """``'cuhk03_classic'``: one random usable image per gallery id, averaged over repeats."""
    if num_repeats < 1:
        raise ValueError(f'num_repeats must be >= 1, got {num_repeats}')
    num_q, num_g = keys.shape
    valid = (same_pid & usable).any(1)  # [Qc]
    hits = torch.zeros(num_q, max_rank, dtype=torch.float64)
    ap = torch.zeros(num_q, dtype=torch.float64)
    q_index = torch.arange(query_offset, query_offset + num_q)[:, None]
    g_index = torch.arange(num_g)[None]
    group = gallery.group[None].expand(num_q, -1)  # [Qc, G]
    for repeat in range(num_repeats):
        base = _mix64(torch.tensor([seed * 1_000_003 + repeat], dtype=torch.long))
        draw = _mix64(_mix64(base + q_index) + g_index)  # [Qc, G]
        # unique per row: random high bits, gallery index in the low bits
        draw = (draw >> 24) * (1 << 24) + g_index
        draw = draw.masked_fill_(~usable, _KEY_MIN)
        best = torch.full((num_q, gallery.unique.numel()), _KEY_MIN, dtype=torch.long)
        best.scatter_reduce_(1, group, draw, reduce='amax')  # [Qc, U]
        chosen = (draw == torch.gather(best, 1, group)) & usable  # [Qc, G] one per id
        pos_key = torch.where(chosen & same_pid, keys, torch.full_like(keys, _KEY_MIN))
        pos_key = pos_key.max(1).values  # [Qc]
        rank = (chosen & ~same_pid & (keys < pos_key[:, None])).sum(1).double()  # [Qc]
        hits += (rank[:, None] < torch.arange(1, max_rank + 1)[None]).double()
        ap += 1.0 / (rank + 1)
    hits = hits / num_repeats * valid[:, None]
    ap = ap / num_repeats * valid
    # a single positive per gallery: INP equals AP
    return QueryRanks(hits, ap, ap.clone(), valid)


def summarize(ranks: QueryRanks) -> RankMetrics:
    """Average per-query results over the valid queries."""
    valid = ranks.valid
    num_valid = int(valid.sum())
    nan = torch.tensor(float('nan'), dtype=torch.float64)
    ap = torch.where(valid, ranks.ap, nan)
    inp = torch.where(valid, ranks.inp, nan)
    if num_valid == 0:
        cmc = torch.full((ranks.hits.shape[1], ), float('nan'), dtype=torch.float64)
        return RankMetrics(cmc, ap, inp, float('nan'), float('nan'), 0, valid.numel())
    cmc = ranks.hits[valid].mean(0)
    return RankMetrics(cmc, ap, inp, float(ranks.ap[valid].mean()),
                       float(ranks.inp[valid].mean()), num_valid, valid.numel() - num_valid)


def cat_ranks(blocks: Sequence[QueryRanks]) -> QueryRanks:
    """Concatenate the per-query results of consecutive query blocks."""
    return QueryRanks(*(torch.cat([getattr(b, f) for b in blocks]) for f in QueryRanks._fields))


def rank_metrics(dist: torch.Tensor,
                 q_pids: ArrayLike,
                 g_pids: ArrayLike,
                 q_camids: ArrayLike,
                 g_camids: ArrayLike,
                 max_rank: int = 50,
                 protocol: str = 'market',
                 num_repeats: int = 10,
                 seed: int = 0,
                 chunk_size: Optional[int] = 256) -> RankMetrics:
    """CMC curve, AP and INP per query of a ``[Q, G]`` distance matrix (see module doc).

    Args:
        dist: ``[Q, G]`` query-to-gallery distances (smaller is more similar).
        q_pids, g_pids: ``[Q]`` and ``[G]`` person ids.
        q_camids, g_camids: ``[Q]`` and ``[G]`` camera ids.
        max_rank: length of the CMC curve.
        protocol: ``'market'``, ``'all'`` or ``'cuhk03_classic'``.
        num_repeats: gallery draws of ``'cuhk03_classic'``.
        seed: seed of the ``'cuhk03_classic'`` draws.
        chunk_size: queries ranked at a time (bounds memory); None for all at once.

    Returns:
        :class:`RankMetrics`; ``num_skipped`` counts queries without a valid match.
    """
    check_protocol(protocol)
    gallery = GalleryIndex(g_pids, g_camids)
    q_pids = as_id_tensor(q_pids, 'q_pids')
    q_camids = as_id_tensor(q_camids, 'q_camids')
    if dist.dim() != 2 or dist.shape != (q_pids.numel(), gallery.size):
        raise ValueError(f'dist must be [Q, G] = [{q_pids.numel()}, {gallery.size}], got '
                         f'{tuple(dist.shape)}')
    step = chunk_size or max(q_pids.numel(), 1)
    blocks = [
        rank_queries(dist[s:s + step], q_pids[s:s + step], q_camids[s:s + step], gallery,
                     max_rank, protocol, num_repeats, seed, query_offset=s)
        for s in range(0, q_pids.numel(), step)
    ]
    if not blocks:
        raise ValueError('rank_metrics got no query (dist has 0 rows)')
    return summarize(cat_ranks(blocks))
