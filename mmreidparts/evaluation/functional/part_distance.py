"""The visibility-weighted part distance between query and gallery embeddings.

    dist(q, g) = sum_i v_q[i] v_g[i] d(e_q[i], e_g[i]) / sum_i v_q[i] v_g[i]

``d`` is the euclidean distance or the cosine distance ``1 - cos``, optionally on
L2-normalised rows; the distance is ``+inf`` where no embedding is mutually visible.

The computation is split in two steps so that the evaluator prepares the gallery
once and then streams query chunks against it:

* :func:`prepare_operand` folds normalisation and visibility weights into one
  matrix per side (the weights enter a single matrix product per part),
* :func:`operand_distance` computes a ``[Qc, G]`` block from two prepared operands.

Euclidean: with ``w = v ** 2`` the operands are, per part,
``q' = [-2 w_q e_q, w_q |e_q|^2, w_q]`` and ``g' = [w_g e_g, w_g, w_g |e_g|^2]``, so
``q' . g' = (v_q v_g)^2 |e_q - e_g|^2`` and its square root is the weighted part
distance (visibility is non-negative). Cosine: the operands are ``v e / |e|`` with
the parts concatenated, so one matrix product gives ``sum_i v_q v_g cos_i``.

The prepared gallery takes about the memory of the gallery embeddings. The expanded
euclidean form has the usual float32 cancellation for nearly equal rows (an absolute
error of about ``1e-7 |e|^2`` on ``d^2``); where it rounds ``d^2`` below zero the pair is
recomputed directly instead of returning nan.

NaN or Inf embeddings or visibility are refused (:func:`check_embeddings`, one reduction
pass over the inputs) with an error naming the rows, so that a diverged model is never
ranked.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from mmreidparts.utils.errors import NonFiniteError

METRICS = ('euclidean', 'cosine')
# Rows of the gallery prepared at a time (bounds the temporaries of the preparation).
_PREPARE_BLOCK = 8192


def check_embeddings(emb: torch.Tensor,
                     vis: torch.Tensor,
                     name: str,
                     paths: Optional[Sequence[Optional[str]]] = None,
                     finite: bool = True) -> None:
    """Raise a ValueError unless ``emb`` is ``[N, P, D]`` and ``vis`` is ``[N, P]`` >= 0.

    With ``finite``, NaN or Inf in either raises :class:`NonFiniteError` naming how many
    rows hold them and the first few (their ``paths`` when given, else their indices).
    """
    if not isinstance(emb, torch.Tensor) or emb.dim() != 3:
        shape = tuple(emb.shape) if isinstance(emb, torch.Tensor) else type(emb).__name__
        raise ValueError(f'{name} embeddings must be a [N, P, D] tensor, got {shape}')
    if not emb.is_floating_point():
        raise ValueError(f'{name} embeddings must be floating point, got {emb.dtype}')
    if not isinstance(vis, torch.Tensor) or tuple(vis.shape) != tuple(emb.shape[:2]):
        shape = tuple(vis.shape) if isinstance(vis, torch.Tensor) else type(vis).__name__
        raise ValueError(f'{name} visibility must be [N, P] = {tuple(emb.shape[:2])} to '
                         f'match the embeddings, got {shape}')
    if finite:
        for what, values in (('embeddings', emb), ('visibility', vis)):
            rows = nonfinite_rows(values)
            if rows.numel():
                raise NonFiniteError(
                    f'{name} {what} hold NaN or Inf for {rows.numel()} of {emb.shape[0]} '
                    f'images, e.g. {_name_rows(rows, paths)}; the model diverged or these '
                    'inputs are broken, so no figure would be meaningful')
    if vis.numel() and bool((vis < 0).any()):
        raise ValueError(f'{name} visibility must be >= 0 (a weight in [0, 1]), got '
                         f'min {vis.min().item()}')


def nonfinite_rows(x: torch.Tensor) -> torch.Tensor:
    """Indices ``[n]`` of the rows (first dimension) of ``x`` holding NaN or Inf.

    One reduction pass over ``x`` without a temporary of its size: a row whose sum is not
    finite holds a NaN or an Inf, or overflowed, which the exact check on those rows alone
    tells apart.
    """
    if x.numel() == 0:
        return torch.zeros(0, dtype=torch.long)
    dims = tuple(range(1, x.dim()))
    sums = x.sum(dim=dims) if dims else x  # [N]
    suspects = torch.nonzero(~torch.isfinite(sums))[:, 0]
    if suspects.numel() == 0 or not dims:
        return suspects.cpu()
    exact = ~torch.isfinite(x[suspects]).flatten(1).all(1)
    return suspects[exact].cpu()


def _name_rows(rows: torch.Tensor, paths: Optional[Sequence[Optional[str]]],
               limit: int = 3) -> str:
    """The first ``limit`` of ``rows`` as paths (when known) or ``row i``."""
    first = rows[:limit].tolist()
    names = [str(paths[i]) if paths is not None and paths[i] else f'row {i}' for i in first]
    return ', '.join(names) + (', ...' if rows.numel() > limit else '')


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f'metric must be one of {METRICS}, got {metric!r}')


def prepare_operand(emb: torch.Tensor,
                    vis: torch.Tensor,
                    metric: str = 'euclidean',
                    normalize: bool = False,
                    side: str = 'gallery') -> torch.Tensor:
    """Fold normalisation and visibility into the matrix one side of the distance needs.

    Args:
        emb: ``[N, P, D]`` embeddings.
        vis: ``[N, P]`` visibility weights (>= 0).
        metric: ``'euclidean'`` or ``'cosine'``.
        normalize: L2-normalise each embedding row first (cosine always does).
        side: ``'query'`` or ``'gallery'`` (the euclidean operands differ).

    Returns:
        Euclidean: ``[P, N, D + 2]``; cosine: ``[N, P * D]`` (same dtype as ``emb``).
    """
    _check_metric(metric)
    if side not in ('query', 'gallery'):
        raise ValueError(f"side must be 'query' or 'gallery', got {side!r}")
    num, parts, dim = emb.shape
    vis = vis.to(emb.dtype)
    if metric == 'cosine':
        out = emb.new_empty(num, parts * dim)  # [N, P * D]
    else:
        out = emb.new_empty(parts, num, dim + 2)  # [P, N, D + 2]
    for start in range(0, num, _PREPARE_BLOCK):
        stop = min(start + _PREPARE_BLOCK, num)
        e = emb[start:stop]  # [n, P, D]
        v = vis[start:stop]  # [n, P]
        if metric == 'cosine':
            e = F.normalize(e, dim=-1) * v[..., None]
            out[start:stop] = e.reshape(stop - start, parts * dim)
            continue
        if normalize:
            e = F.normalize(e, dim=-1)
        w = (v * v).transpose(0, 1)  # [P, n]
        sq = torch.linalg.vector_norm(e, dim=-1).square_().transpose(0, 1)  # [P, n]
        block = out[:, start:stop]  # [P, n, D + 2]
        scale = -2.0 if side == 'query' else 1.0
        torch.mul(e.transpose(0, 1), (scale * w)[..., None], out=block[..., :dim])
        if side == 'query':
            block[..., dim] = w * sq
            block[..., dim + 1] = w
        else:
            block[..., dim] = w
            block[..., dim + 1] = w * sq
    return out


def operand_distance(q_op: torch.Tensor,
                     q_vis: torch.Tensor,
                     g_op: torch.Tensor,
                     g_vis: torch.Tensor,
                     metric: str = 'euclidean',
                     out: Optional[torch.Tensor] = None,
                     buffer: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Weighted part distance ``[Qc, G]`` between prepared operands (see module doc).

    Args:
        q_op: query operand from :func:`prepare_operand` (``side='query'``).
        q_vis: ``[Qc, P]`` query visibility.
        g_op: gallery operand from :func:`prepare_operand` (``side='gallery'``).
        g_vis: ``[G, P]`` gallery visibility.
        metric: the metric both operands were prepared for.
        out: optional ``[Qc, G]`` tensor to write the result into.
        buffer: optional ``[Qc, G]`` scratch tensor (euclidean), reused across calls.

    Returns:
        ``[Qc, G]`` distances, ``+inf`` where no part is mutually visible.
    """
    _check_metric(metric)
    num_q, num_g = q_vis.shape[0], g_vis.shape[0]
    dtype = q_op.dtype
    if out is None:
        out = q_op.new_empty(num_q, num_g)
    # sum_i v_q[i] v_g[i]: the normaliser, 0 where nothing is mutually visible
    den = torch.mm(q_vis.to(dtype), g_vis.to(dtype).t())  # [Qc, G]
    if metric == 'cosine':
        torch.mm(q_op, g_op.t(), out=out)  # [Qc, G] = sum_i v_q v_g cos_i
        out.sub_(den).neg_()  # sum_i v_q v_g (1 - cos_i)
    else:
        parts = q_op.shape[0]
        for p in range(parts):
            target = out if p == 0 else buffer
            if target is None:
                target = buffer = q_op.new_empty(num_q, num_g)
            torch.mm(q_op[p], g_op[p].t(), out=target)  # [Qc, G] = (v_q v_g)^2 d^2
            # a rounding error can make d^2 of (nearly) equal rows negative: sqrt gives
            # nan there, which is rare and repaired below instead of clamping every part
            target.sqrt_()
            if p > 0:
                out.add_(target)
        bad = torch.isnan(out)
        if bool(bad.any()):
            _repair_euclidean(out, torch.nonzero(bad), q_op, g_op)
    out.div_(den)
    out.masked_fill_(den == 0, float('inf'))
    return out


def _repair_euclidean(out: torch.Tensor, pairs: torch.Tensor, q_op: torch.Tensor,
                      g_op: torch.Tensor) -> None:
    """Recompute ``sum_i v_q v_g |e_q - e_g|`` directly for the ``[n, 2]`` (q, g) pairs."""
    dim = q_op.shape[2] - 2
    qi, gi = pairs[:, 0], pairs[:, 1]
    q_w = q_op[:, qi, dim + 1]  # [P, n] v_q^2
    g_w = g_op[:, gi, dim]  # [P, n] v_g^2
    both = (q_w > 0) & (g_w > 0)
    # undo the folding: query rows hold -2 v^2 e, gallery rows v^2 e
    q_e = q_op[:, qi, :dim] / (-2 * q_w.clamp_min(1e-30))[..., None]  # [P, n, D]
    g_e = g_op[:, gi, :dim] / g_w.clamp_min(1e-30)[..., None]  # [P, n, D]
    part = torch.linalg.vector_norm(q_e - g_e, dim=-1) * (q_w * g_w).sqrt()  # [P, n]
    out[qi, gi] = torch.where(both, part, torch.zeros_like(part)).sum(0)


def part_distance(q_emb: torch.Tensor,
                  q_vis: torch.Tensor,
                  g_emb: torch.Tensor,
                  g_vis: torch.Tensor,
                  metric: str = 'euclidean',
                  normalize: bool = False) -> torch.Tensor:
    """Visibility-weighted part distance ``[Q, G]`` between query and gallery embeddings.

    Args:
        q_emb: ``[Q, P, D]`` query embeddings.
        q_vis: ``[Q, P]`` query visibility in [0, 1] (binary or soft).
        g_emb: ``[G, P, D]`` gallery embeddings.
        g_vis: ``[G, P]`` gallery visibility.
        metric: ``'euclidean'`` or ``'cosine'`` (``1 - cos``).
        normalize: L2-normalise each embedding before the euclidean distance.

    Returns:
        ``[Q, G]`` distances in the embeddings' dtype; ``+inf`` where no embedding is
        visible on both sides. Materialises the full matrix: the evaluator uses
        :func:`mmreidparts.evaluation.functional.part_rank_metrics` for large sets.
    """
    check_pair(q_emb, q_vis, g_emb, g_vis)
    _check_metric(metric)
    q_op = prepare_operand(q_emb, q_vis, metric, normalize, side='query')
    g_op = prepare_operand(g_emb, g_vis, metric, normalize, side='gallery')
    return operand_distance(q_op, q_vis, g_op, g_vis, metric)


def check_pair(q_emb: torch.Tensor,
               q_vis: torch.Tensor,
               g_emb: torch.Tensor,
               g_vis: torch.Tensor,
               q_paths: Optional[Sequence[Optional[str]]] = None,
               g_paths: Optional[Sequence[Optional[str]]] = None,
               finite: bool = True) -> None:
    """Raise a ValueError unless query and gallery embeddings are valid and match in P, D.

    See :func:`check_embeddings` for ``finite`` and the ``paths`` named in its errors.
    """
    check_embeddings(q_emb, q_vis, 'query', q_paths, finite)
    check_embeddings(g_emb, g_vis, 'gallery', g_paths, finite)
    if q_emb.shape[1:] != g_emb.shape[1:]:
        raise ValueError('query and gallery embeddings must have the same [P, D], got '
                         f'query {tuple(q_emb.shape[1:])} and gallery '
                         f'{tuple(g_emb.shape[1:])}')
    if q_emb.dtype != g_emb.dtype:
        raise ValueError(f'query and gallery embeddings must have the same dtype, got '
                         f'{q_emb.dtype} and {g_emb.dtype}')
