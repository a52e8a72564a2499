"""k-reciprocal re-ranking (Zhong, Zheng, Cao, Li; CVPR 2017) on part distances.

Inputs are the query-gallery, query-query and gallery-gallery distance matrices
computed with the same :func:`part_distance` settings. Let ``N = Q + G`` and ``d`` the
``[N, N]`` matrix ``[[qq, qg], [qg^T, gg]]``:

1. ``+inf`` entries (nothing mutually visible) become ``max finite + 1``; each row of
   ``d`` is divided by its maximum.
2. Neighbours are ranked by ``(distance, index)``. ``R(i, k)``: the members ``j`` of the
   ``k + 1`` nearest of ``i`` that have ``i`` among their own ``k + 1`` nearest.
3. ``R*(i)`` = ``R(i, k1)`` plus ``R(c, round(k1 / 2))`` for each candidate ``c`` of
   ``R(i, k1)`` that shares more than 2/3 of its members with ``R(i, k1)``.
4. ``V[i, j] = exp(-d[i, j]) / sum_{j' in R*(i)} exp(-d[i, j'])`` on ``R*(i)`` (0 elsewhere);
   with ``k2 > 1`` each row is replaced by the mean of the rows of its ``k2`` nearest.
5. ``jaccard[i, j] = 1 - s / (2 - s)`` with ``s = sum_c min(V[i, c], V[j, c])``, and the
   result is ``(1 - lambda) * jaccard + lambda * d`` on the query-gallery block; entries
   that were ``+inf`` in ``qg`` stay ``+inf``.

Distances are used as given (implementations that square euclidean distances first
reproduce their numbers when given squared distances).

Memory: the assembled ``[N, N]`` float32 matrix takes ``4 (Q + G)^2`` bytes on top of the
inputs (which hold about as much); ``V`` is kept sparse (about ``k1 * k2`` entries per
row) and neighbours are sorted in row blocks, so the rest is ``O(N k1 k2)``. Occluded-Duke
(``N`` = 19,871) needs about 1.6 GB for the matrix.
"""
from typing import Tuple

import torch

_ROW_BLOCK = 1024


def _nearest(dist: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` nearest columns of each row, ordered by (distance, index)."""
    out = []
    for start in range(0, dist.shape[0], _ROW_BLOCK):
        block = dist[start:start + _ROW_BLOCK]
        out.append(torch.sort(block, dim=1, stable=True).indices[:, :k])
    return torch.cat(out)  # [N, k]


def _reciprocal(ranks: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """k-reciprocal neighbours: the ``k + 1`` nearest ``[N, k+1]`` and a mask ``[N, k+1]``."""
    near = ranks[:, :k + 1]  # [N, k+1]
    rows = torch.arange(near.shape[0])[:, None, None]
    mask = (near[near] == rows).any(-1)  # [N, k+1]: i is among the k+1 nearest of j
    return near, mask


def _unique_pairs(rows: torch.Tensor, cols: torch.Tensor, num: int) -> torch.Tensor:
    """Sorted unique ``row * num + col`` codes."""
    return torch.unique(rows * num + cols)


def _sum_duplicates(codes: torch.Tensor,
                    values: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Sum values with equal codes; returns sorted unique codes and their sums."""
    uniq, inverse = torch.unique(codes, return_inverse=True)
    sums = values.new_zeros(uniq.numel()).index_add_(0, inverse, values)
    return uniq, sums


def k_reciprocal_rerank(q_g_dist: torch.Tensor,
                        q_q_dist: torch.Tensor,
                        g_g_dist: torch.Tensor,
                        k1: int = 20,
                        k2: int = 6,
                        lambda_value: float = 0.3) -> torch.Tensor:
    """Re-ranked query-gallery distances ``[Q, G]`` (see the module doc for the steps).

    Args:
        q_g_dist: ``[Q, G]`` query-gallery distances.
        q_q_dist: ``[Q, Q]`` query-query distances.
        g_g_dist: ``[G, G]`` gallery-gallery distances.
        k1: size of the k-reciprocal neighbourhood.
        k2: size of the local query expansion (1 disables it).
        lambda_value: weight of the original distance in the result.

    Returns:
        ``[Q, G]`` float32 distances.
    """
    num_q, num_g = q_g_dist.shape
    if tuple(q_q_dist.shape) != (num_q, num_q) or tuple(g_g_dist.shape) != (num_g, num_g):
        raise ValueError(f'with q_g_dist [{num_q}, {num_g}] re-ranking needs q_q_dist '
                         f'[{num_q}, {num_q}] and g_g_dist [{num_g}, {num_g}], got '
                         f'{tuple(q_q_dist.shape)} and {tuple(g_g_dist.shape)}')
    if k1 < 1 or k2 < 1:
        raise ValueError(f'k1 and k2 must be >= 1, got k1={k1}, k2={k2}')
    if not 0.0 <= lambda_value <= 1.0:
        raise ValueError(f'lambda_value must be in [0, 1], got {lambda_value}')
    num = num_q + num_g
    dist = torch.empty(num, num, dtype=torch.float32)  # [N, N]
    dist[:num_q, :num_q] = q_q_dist
    dist[:num_q, num_q:] = q_g_dist
    dist[num_q:, :num_q] = q_g_dist.t()
    dist[num_q:, num_q:] = g_g_dist
    finite = torch.isfinite(dist)
    top = float(dist[finite].max()) if bool(finite.any()) else 0.0
    dist.masked_fill_(~finite, top + 1.0)
    del finite
    dist.div_(dist.max(1, keepdim=True).values.clamp_min(torch.finfo(torch.float32).tiny))

    k1 = min(k1, num - 1)
    k2 = min(k2, num)
    half = min(int(round(k1 / 2)), num - 1)
    ranks = _nearest(dist, max(k1, k2 - 1, half) + 1)  # [N, K]
    near, near_ok = _reciprocal(ranks, k1)  # [N, k1+1]
    near_h, near_h_ok = _reciprocal(ranks, half)  # [N, h+1]

    # expansion: candidate c of R(i, k1) brings R(c, k1/2) if > 2/3 of it is in R(i, k1)
    rows = [torch.arange(num)[:, None].expand_as(near)[near_ok]]
    cols = [near[near_ok]]
    for start in range(0, num, _ROW_BLOCK):
        stop = min(start + _ROW_BLOCK, num)
        cand = near[start:stop]  # [n, k1+1]
        members = near_h[cand]  # [n, k1+1, h+1]
        members_ok = near_h_ok[cand]  # [n, k1+1, h+1]
        inside = (members[..., None] == cand[:, None, None, :]) & \
            near_ok[start:stop, None, None, :]  # [n, k1+1, h+1, k1+1]
        common = (inside.any(-1) & members_ok).sum(-1)  # [n, k1+1]
        accept = near_ok[start:stop] & (common > 2.0 / 3.0 * members_ok.sum(-1))
        take = accept[..., None] & members_ok  # [n, k1+1, h+1]
        owner = torch.arange(start, stop)[:, None, None].expand_as(members)
        rows.append(owner[take])
        cols.append(members[take])
    codes = _unique_pairs(torch.cat(rows), torch.cat(cols), num)
    v_rows, v_cols = codes // num, codes % num
    weight = torch.exp(-dist[v_rows, v_cols])
    row_sum = weight.new_zeros(num).index_add_(0, v_rows, weight)
    v_vals = weight / row_sum[v_rows]

    if k2 > 1:
        # V[i] <- mean of V[j] over the k2 nearest j of i
        ptr = torch.zeros(num + 1, dtype=torch.long)
        ptr[1:] = torch.cumsum(torch.bincount(v_rows, minlength=num), 0)
        owner = torch.arange(num)[:, None].expand(num, k2).reshape(-1)
        source = ranks[:, :k2].reshape(-1)
        length = ptr[source + 1] - ptr[source]
        owner = owner.repeat_interleave(length)
        offset = torch.arange(int(length.sum())) - \
            (torch.cumsum(length, 0) - length).repeat_interleave(length)
        entry = ptr[source].repeat_interleave(length) + offset
        codes, sums = _sum_duplicates(owner * num + v_cols[entry], v_vals[entry] / k2)
        v_rows, v_cols, v_vals = codes // num, codes % num, sums

    # Jaccard overlap of the query rows with the gallery rows, joined on columns
    is_gallery = v_rows >= num_q
    g_rows, g_cols, g_vals = v_rows[is_gallery], v_cols[is_gallery], v_vals[is_gallery]
    order = torch.argsort(g_cols, stable=True)
    g_rows, g_cols, g_vals = g_rows[order] - num_q, g_cols[order], g_vals[order]
    col_ptr = torch.zeros(num + 1, dtype=torch.long)
    col_ptr[1:] = torch.cumsum(torch.bincount(g_cols, minlength=num), 0)
    overlap = torch.zeros(num_q * num_g, dtype=torch.float32)
    q_mask = ~is_gallery
    q_rows, q_cols, q_vals = v_rows[q_mask], v_cols[q_mask], v_vals[q_mask]
    step = 1 << 16
    for start in range(0, q_rows.numel(), step):
        r, c, a = q_rows[start:start + step], q_cols[start:start + step], \
            q_vals[start:start + step]
        length = col_ptr[c + 1] - col_ptr[c]
        offset = torch.arange(int(length.sum())) - \
            (torch.cumsum(length, 0) - length).repeat_interleave(length)
        entry = col_ptr[c].repeat_interleave(length) + offset
        target = r.repeat_interleave(length) * num_g + g_rows[entry]
        overlap.index_add_(0, target, torch.minimum(a.repeat_interleave(length), g_vals[entry]))
    overlap = overlap.view(num_q, num_g)
    jaccard = 1.0 - overlap / (2.0 - overlap)
    final = jaccard.mul_(1.0 - lambda_value).add_(dist[:num_q, num_q:], alpha=lambda_value)
    final.masked_fill_(torch.isinf(q_g_dist), float('inf'))
    return final
