"""Pooling of feature maps: global (average, max, GeM) and by weight masks (one product)."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class GeneralizedMeanPooling(nn.Module):
    """GeM pooling: ``(mean_{h,w} x^p)^(1/p)`` over the clamped map (Radenovic et al.).

    Args:
        p: the initial exponent (3 in the paper; 1 = average, large = max).
        eps: lower clamp of the input, keeps ``x^p`` defined.
        learnable: whether ``p`` is trained.
    """

    def __init__(self, p: float = 3.0, eps: float = 1e-6, learnable: bool = True) -> None:
        super().__init__()
        if p <= 0:
            raise ValueError(f'GeM exponent p must be > 0, got {p}')
        self.p = nn.Parameter(torch.tensor(float(p)), requires_grad=learnable)
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        """Pool ``[N, C, H, W]`` to ``[N, C]``."""
        pooled = x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3))  # [N, C]
        return pooled.pow(1.0 / self.p)


class GlobalPool(nn.Module):
    """Pool a ``[N, C, H, W]`` map to ``[N, C]`` by 'avg', 'max' or 'gem'."""

    MODES = ('avg', 'max', 'gem')

    def __init__(self, mode: str = 'avg') -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f'pool must be one of {self.MODES}, got {mode!r}')
        self.mode = mode
        self.gem = GeneralizedMeanPooling() if mode == 'gem' else None

    def forward(self, x: Tensor) -> Tensor:
        """Pool ``[N, C, H, W]`` to ``[N, C]``; ``[N, C]`` passes through."""
        if x.dim() == 2:
            return x
        if x.dim() != 4:
            raise ValueError(f'GlobalPool expects [N, C, H, W] or [N, C], got {tuple(x.shape)}')
        if self.mode == 'avg':
            return F.adaptive_avg_pool2d(x, 1).flatten(1)
        if self.mode == 'max':
            return F.adaptive_max_pool2d(x, 1).flatten(1)
        return self.gem(x)

    def extra_repr(self) -> str:
        """Short description for printing."""
        return f'mode={self.mode!r}'


def _check_maps(name: str, feats: Tensor, masks: Tensor) -> None:
    if feats.dim() != 4 or masks.dim() != 4 or feats.shape[0] != masks.shape[0] \
            or feats.shape[2:] != masks.shape[2:]:
        raise ValueError(f'{name} expects feats [N, C, H, W] and masks [N, J, H, W], '
                         f'got {tuple(feats.shape)} and {tuple(masks.shape)}')


def _sum_weights(masks: Tensor, with_mean: bool) -> Tensor:
    """``[N, J, HW]`` pooling weights, with the uniform GAP row first if ``with_mean``."""
    weights = masks.flatten(2)  # [N, J, HW]
    if with_mean:
        hw = weights.shape[2]
        uniform = weights.new_full((weights.shape[0], 1, hw), 1.0 / hw)
        weights = torch.cat([uniform, weights], dim=1)  # [N, 1+J, HW]
    return weights


class _MaskPool(torch.autograd.Function):
    """``sums = feats @ weights^T`` (and optionally the weighted maxima) with a lean backward.

    ``feats [N, C, HW]``, ``weights [N, J', HW]``: ``sums [N, C, J']``. The backward pass
    forms ``g @ weights`` and ``g^T @ feats``, so the big map is never transposed (the
    generic batched-product backward copies it to ``[N, HW, C]``). With ``masks [N, J, HW]``
    the weighted maxima ``max_hw feats * masks_j`` ``[N, J, C]`` come too, and their
    gradient is added in place into the map's gradient (no second ``[N, C, HW]`` tensor
    and no sum of two). Products run in the autocast dtype when autocast is on.
    """

    @staticmethod
    def forward(ctx, feats: Tensor, weights: Tensor, masks: Optional[Tensor], height: int):
        sums = torch.bmm(feats, weights.transpose(1, 2))  # [N, C, J'], autocast applies
        dtype = sums.dtype
        tensors = [feats, weights.to(dtype)]
        top = None
        if masks is not None:
            top, idx = _weighted_max_forward(
                feats.view(feats.shape[0], feats.shape[1], height, -1),
                masks.view(masks.shape[0], masks.shape[1], height, -1))
            tensors += [masks, idx]
        ctx.save_for_backward(*tensors)
        ctx.feats_dtype, ctx.weights_dtype = feats.dtype, weights.dtype
        return sums, top

    @staticmethod
    def backward(ctx, g_sums: Tensor, g_top: Optional[Tensor]):
        feats, weights = ctx.saved_tensors[:2]
        dtype = weights.dtype
        if g_sums is None:
            g_sums = feats.new_zeros((feats.shape[0], feats.shape[1], weights.shape[1]))
        g_sums = g_sums.to(dtype)
        grad_feats = torch.bmm(g_sums, weights)  # [N, C, HW]
        grad_weights = torch.bmm(g_sums.transpose(1, 2).contiguous(), feats.to(dtype))
        grad_masks = None
        if len(ctx.saved_tensors) > 2 and g_top is not None:
            masks, idx = ctx.saved_tensors[2:]
            grad_masks = _add_max_grad(grad_feats, feats, masks, idx, g_top)
        return (grad_feats.to(ctx.feats_dtype), grad_weights.to(ctx.weights_dtype),
                grad_masks, None)


def _add_max_grad(grad_feats: Tensor, feats: Tensor, masks: Tensor, idx: Tensor,
                  grad: Tensor) -> Tensor:
    """Add the weighted maxima's gradient into ``grad_feats`` ``[N, C, L]`` in place.

    ``idx [N, J, C]`` are the maxima's positions; returns the gradient of ``masks``.
    """
    num, channels = feats.shape[:2]
    length = idx.new_tensor(feats[0, 0].numel())
    # flat positions of the maxima in feats [N, C, L] and in masks [N, J, L]
    rows = torch.arange(num * channels, device=idx.device).view(num, 1, channels)
    at_feats = (rows * length + idx).flatten()
    rows = torch.arange(num * masks.shape[1], device=idx.device).view(num, -1, 1)
    at_masks = (rows * length + idx).flatten()
    grad = grad.to(grad_feats.dtype).flatten()
    mask_at = masks.reshape(-1)[at_masks].to(grad.dtype)
    feat_at = feats.reshape(-1)[at_feats].to(grad.dtype)
    grad_feats.view(-1).index_add_(0, at_feats, grad * mask_at)
    grad_masks = torch.zeros(masks.numel(), dtype=grad.dtype, device=grad.device)
    grad_masks.index_add_(0, at_masks, grad * feat_at)
    return grad_masks.view(masks.shape).to(masks.dtype)


def _lean_backward(*tensors: Tensor) -> bool:
    return torch.is_grad_enabled() and not torch.jit.is_tracing() and any(
        t.requires_grad for t in tensors)


def pool_by_masks(feats: Tensor, masks: Tensor, with_mean: bool = False) -> Tensor:
    """Unnormalised mask pooling ``sum_hw feats * mask`` of every mask, in one product.

    Args:
        feats: ``[N, C, H, W]`` feature map.
        masks: ``[N, J, H, W]`` weights.
        with_mean: prepend the plain average ``mean_hw feats`` (GAP) as entry 0.

    Returns:
        ``[N, J, C]`` (``[N, 1 + J, C]`` with ``with_mean``) pooled features. One batched
        matrix product serves all of them, so the backward pass sends a single gradient
        into ``feats``, computed without transposing the map.
    """
    _check_maps('pool_by_masks', feats, masks)
    weights = _sum_weights(masks, with_mean)
    flat = feats.flatten(2)  # [N, C, HW]
    if _lean_backward(flat, weights):
        return _MaskPool.apply(flat, weights, None, feats.shape[2])[0].transpose(1, 2)
    # [N, C, HW] @ [N, HW, J'] keeps the big map in its own layout, then the small result
    # is transposed
    return torch.bmm(flat, weights.transpose(1, 2)).transpose(1, 2)  # [N, J', C]


def pool_by_masks_and_max(feats: Tensor, masks: Tensor,
                          with_mean: bool = False) -> Tuple[Tensor, Tensor]:
    """:func:`pool_by_masks` and :func:`weighted_max_pool` of the same map and masks.

    Returns ``(sums [N, J(+1), C], maxima [N, J, C])``. In training one backward step
    forms the map's gradient of both (the maxima's gradient added in place).
    """
    _check_maps('pool_by_masks_and_max', feats, masks)
    weights = _sum_weights(masks, with_mean)
    flat = feats.flatten(2)
    if _lean_backward(flat, weights):
        sums, top = _MaskPool.apply(flat, weights, masks.flatten(2), feats.shape[2])
        return sums.transpose(1, 2), top
    return pool_by_masks(feats, masks, with_mean), weighted_max_pool(feats, masks)


def weighted_average_pool(feats: Tensor, masks: Tensor, eps: float = 1e-6) -> Tensor:
    """Global weighted average pooling (GWAP) of ``feats [N, C, H, W]`` by ``masks [N, J, H, W]``.

    ``out[n, j] = sum_hw feats[n, :, h, w] * masks[n, j, h, w] / max(sum_hw masks[n, j], eps)``.

    Returns:
        ``[N, J, C]`` pooled features.
    """
    return pool_by_masks(feats, masks) / masks.sum(dim=(2, 3)).clamp(min=eps)[..., None]


def masked_average_pool(feats: Tensor, masks: Tensor) -> Tensor:
    """Masked GAP: sum of ``feats * mask`` over ``H * W`` locations, ``[N, J, C]``."""
    return pool_by_masks(feats, masks) / (feats.shape[2] * feats.shape[3])


STRIP_POOLS = ('max', 'avg')


def strip_pool(feats: Tensor, num_stripes: int, mode: str = 'max') -> Tensor:
    """Pool ``num_stripes`` equal horizontal stripes of ``feats [N, C, H, W]``: ``[N, S, C]``.

    Stripe ``k`` covers rows ``k * H / S`` to ``(k + 1) * H / S``; ``H`` must be a multiple
    of ``S`` (PCB, MGN). ``mode`` is 'max' (local max pooling) or 'avg'.
    """
    if mode not in STRIP_POOLS:
        raise ValueError(f'stripe pooling must be one of {STRIP_POOLS}, got {mode!r}')
    if feats.dim() != 4:
        raise ValueError(f'strip_pool expects feats [N, C, H, W], got {tuple(feats.shape)}')
    num, channels, height, width = feats.shape
    if num_stripes < 1 or height % num_stripes:
        raise ValueError(f'strip_pool: a feature map of height {height} cannot be cut into '
                         f'{num_stripes} equal stripes')
    x = feats.reshape(num, channels, num_stripes, height // num_stripes, width)
    pooled = x.amax(dim=(3, 4)) if mode == 'max' else x.mean(dim=(3, 4))  # [N, C, S]
    return pooled.transpose(1, 2)  # [N, S, C]


ARGMAX_BLOCK = 32


def max_with_indices(x: Tensor, block: int = ARGMAX_BLOCK) -> Tuple[Tensor, Tensor]:
    """``x.max(dim=-1)`` (values and first indices) of ``x [..., L]``, in two stages.

    On a CPU the indexed maximum over a long last axis is several times slower than the
    plain ``amax``; here ``amax`` runs over blocks of ``block`` entries, the indexed
    maximum over the block maxima picks the first block that holds the maximum, and a
    second indexed maximum inside that block gives the position. Same values and, for
    ties, the first position (as ``max``). ``L`` not a multiple of ``block``: plain ``max``.
    """
    length = x.shape[-1]
    if length % block or length <= block:
        return x.max(dim=-1)
    lead = x.shape[:-1]
    blocks = x.reshape(*lead, length // block, block)
    values, which = blocks.amax(dim=-1).max(dim=-1)  # [...], the first block with the max
    index = which[..., None, None].expand(*lead, 1, block)
    inner = blocks.gather(-2, index).squeeze(-2).max(dim=-1)[1]  # [...]
    return values, which * block + inner


WMAX_CHANNEL_BLOCK = 256
# the bounded search falls back to the dense products for a sample where more than this
# fraction of the (mask, channel, row) triples besides the rows of the largest bounds
# cannot be ruled out by their bound
WMAX_DENSE_FRACTION = 0.25


def _compute_dtype(x: Tensor) -> torch.dtype:
    """float32 for a half-precision CPU tensor (its element-wise kernels are slow)."""
    return torch.float32 if x.device.type == 'cpu' and x.dtype in (
        torch.bfloat16, torch.float16) else x.dtype


def _dense_weighted_max(x: Tensor, w: Tensor, values: Tensor, indices: Tensor) -> None:
    """``max_l x[c, l] * w[j, l]`` of one sample into ``values / indices [J, C]``.

    ``x [C, L]`` (any float dtype), ``w [J, L]`` in the compute dtype. The products are
    formed ``WMAX_CHANNEL_BLOCK`` channels at a time in one reused, cache-sized buffer.
    """
    channels, length = x.shape
    block = min(WMAX_CHANNEL_BLOCK, channels)
    buffer = torch.empty((block, length), dtype=w.dtype, device=x.device)
    for c0 in range(0, channels, block):
        xb = x[c0:c0 + block].to(w.dtype)
        product = buffer[:xb.shape[0]]
        for j in range(w.shape[0]):
            torch.mul(xb, w[j], out=product)
            val, idx = max_with_indices(product)
            values[j, c0:c0 + block] = val
            indices[j, c0:c0 + block] = idx


def _bounded_weighted_max(x: Tensor, w: Tensor, rows: int) -> Optional[Tuple[Tensor, Tensor]]:
    """``max_l x[c, l] * w[j, l]`` of one sample by a bounded search; None if not cheaper.

    ``x [C, L]``, ``w [J, L]`` (compute dtype, ``w >= 0``), the ``L`` locations cut into
    ``rows`` equal rows. For ``w >= 0`` every product of a row is at most the row bound
    ``U = X * Wmax`` (``X = max x`` of the row, ``X >= 0``) or ``X * Wmin`` (``X < 0``),
    and rounding keeps that order. The products are formed in the row of the largest bound
    first, then only in the rows whose bound reaches that maximum: the same values and,
    taking the smallest index among equal maxima, the same first indices as the dense
    products. Returns ``(values, indices)`` ``[J, C]`` or None when the bounds rule out too
    few rows (the caller then forms every product) or a map holds a non-finite value.
    """
    channels, length = x.shape
    parts = w.shape[0]
    width = length // rows
    x = x.to(w.dtype)  # one conversion: the reductions and products below run on it
    x_rows = x.view(channels * rows, width)
    w_rows = w.view(parts * rows, width)
    x_top = x_rows.amax(dim=1).view(channels, rows)  # [C, R]
    w_top = w_rows.amax(dim=1).view(parts, rows)  # [J, R]
    if not (torch.isfinite(x_top).all() and torch.isfinite(w_top).all()):
        return None
    bound = x_top * w_top[:, None]  # [J, C, R]
    if bool((x_top < 0).any()):  # rows without a positive feature: X * Wmin
        w_low = w_rows.amin(dim=1).view(parts, rows)
        bound = torch.where(x_top >= 0, bound, x_top * w_low[:, None])
    first = bound.max(dim=2)[1]  # [J, C], the row of the largest bound
    chan = torch.arange(channels, device=x.device)
    part = torch.arange(parts, device=x.device)
    prod = x_rows[(chan * rows + first).flatten()] \
        * w_rows[(part[:, None] * rows + first).flatten()]  # [J*C, width]
    values = prod.amax(dim=1)  # [J*C]
    # rows that may hold a larger or an equal product (the first row is among them)
    opened = (bound >= values.view(parts, channels, 1)).view(-1).nonzero()[:, 0]
    if opened.numel() - values.numel() > WMAX_DENSE_FRACTION * (bound.numel() - values.numel()):
        return None  # too many rows besides the first ones
    key, row = opened // rows, opened % rows  # key = j * C + c
    j, c = key // channels, key % channels
    prod = x_rows[c * rows + row] * w_rows[j * rows + row]  # [opened, width]
    val, pos = prod.max(dim=1)
    values = values.scatter_reduce(0, key, val, 'amax')
    # the first location that holds the maximum: the smallest index among the ties
    at = torch.where(val == values[key], row * width + pos, torch.full_like(pos, length))
    # (every key has its first row among the opened ones: each index is set here)
    indices = at.new_empty(values.shape).scatter_reduce(0, key, at, 'amin', include_self=False)
    return values.view(parts, channels), indices.view(parts, channels)


def _weighted_max_forward(feats: Tensor, masks: Tensor) -> Tuple[Tensor, Tensor]:
    """``max_hw masks[:, j] * feats`` for every mask: values and indices ``[N, J, C]``.

    Outside tracing each sample is searched with row bounds when its masks are
    non-negative (:func:`_bounded_weighted_max`, several times fewer products on
    parsing-guided maps), otherwise its products are formed ``WMAX_CHANNEL_BLOCK``
    channels at a time in one reused, cache-sized buffer; both give the values and first
    indices of ``max`` over the products. On a CPU a half-precision map is multiplied in
    float32, where the product of two half-precision numbers is exact: rounding is
    monotonic, so the stored maxima equal those of the half-precision products, and the
    index is that of the exact maximum. An ONNX trace gets the plain graph, one mask at a
    time without ``out=`` arguments.
    """
    flat = feats.flatten(2)  # [N, C, HW]
    weights = masks.flatten(2).to(flat.dtype)  # [N, J, HW], in the features' precision
    num, channels, length = flat.shape
    parts = weights.shape[1]
    if torch.jit.is_tracing():
        values, indices = [], []
        for j in range(parts):
            val, idx = (flat * weights[:, j:j + 1]).max(dim=2)  # [N, C]
            values.append(val)
            indices.append(idx)
        return torch.stack(values, dim=1), torch.stack(indices, dim=1)
    weights = weights.to(_compute_dtype(flat))
    values = flat.new_empty((num, parts, channels))
    indices = torch.empty((num, parts, channels), dtype=torch.long, device=flat.device)
    rows = feats.shape[2] if feats.shape[2] > 1 and feats.shape[3] > 1 else 1
    for n in range(num):
        found = None
        if rows > 1 and bool((weights[n] >= 0).all()):
            found = _bounded_weighted_max(flat[n], weights[n], rows)
        if found is None:
            _dense_weighted_max(flat[n], weights[n], values[n], indices[n])
        else:
            values[n], indices[n] = found
    return values, indices


class _WeightedMaxPool(torch.autograd.Function):
    """Weighted max pooling that saves the argmax indices, not the ``[N, J, C, HW]`` products."""

    @staticmethod
    def forward(ctx, feats: Tensor, masks: Tensor) -> Tensor:
        out, idx = _weighted_max_forward(feats, masks)
        ctx.save_for_backward(feats, masks, idx)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tuple[Tensor, Tensor]:
        feats, masks, idx = ctx.saved_tensors  # idx [N, J, C]
        flat = feats.flatten(2)
        grad_feats = torch.zeros(flat.shape, dtype=feats.dtype, device=feats.device)
        grad_masks = _add_max_grad(grad_feats, flat, masks.flatten(2), idx, grad)
        return grad_feats.view(feats.shape), grad_masks.view(masks.shape)


def weighted_max_pool(feats: Tensor, masks: Tensor) -> Tensor:
    """Max pooling of the weighted maps: ``out[n, j] = max_hw masks[n, j] * feats[n]``.

    Args:
        feats: ``[N, C, H, W]`` feature map.
        masks: ``[N, J, H, W]`` weights.

    Returns:
        ``[N, J, C]``. The products are formed one mask at a time and, when a gradient is
        needed, only the argmax indices are kept for the backward pass (the gradient of
        ``torch.amax`` on the products, with the memory of one ``[N, C, HW]`` map).
    """
    if feats.dim() != 4 or masks.dim() != 4 or feats.shape[0] != masks.shape[0] \
            or feats.shape[2:] != masks.shape[2:]:
        raise ValueError('weighted_max_pool expects feats [N, C, H, W] and masks [N, J, H, W], '
                         f'got {tuple(feats.shape)} and {tuple(masks.shape)}')
    if torch.is_grad_enabled() and (feats.requires_grad or masks.requires_grad):
        return _WeightedMaxPool.apply(feats, masks)
    return _weighted_max_forward(feats, masks)[0]
