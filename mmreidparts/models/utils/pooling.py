"""Pooling of feature maps: global (average, max, GeM) and by weight masks (one product)."""
from typing import Tuple

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


def pool_by_masks(feats: Tensor, masks: Tensor, with_mean: bool = False) -> Tensor:
    """Unnormalised mask pooling ``sum_hw feats * mask`` of every mask, in one product.

    Args:
        feats: ``[N, C, H, W]`` feature map.
        masks: ``[N, J, H, W]`` weights.
        with_mean: prepend the plain average ``mean_hw feats`` (GAP) as entry 0.

    Returns:
        ``[N, J, C]`` (``[N, 1 + J, C]`` with ``with_mean``) pooled features. One batched
        matrix product serves all of them, so the backward pass sends a single gradient
        into ``feats``.
    """
    if feats.dim() != 4 or masks.dim() != 4 or feats.shape[0] != masks.shape[0] \
            or feats.shape[2:] != masks.shape[2:]:
        raise ValueError('pool_by_masks expects feats [N, C, H, W] and masks [N, J, H, W], '
                         f'got {tuple(feats.shape)} and {tuple(masks.shape)}')
    weights = masks.flatten(2)  # [N, J, HW]
    if with_mean:
        hw = weights.shape[2]
        uniform = weights.new_full((weights.shape[0], 1, hw), 1.0 / hw)
        weights = torch.cat([uniform, weights], dim=1)  # [N, 1+J, HW]
    # [N, C, HW] @ [N, HW, J'] keeps the big map in its own layout in both passes (its
    # gradient is a plain [N, C, HW] product), then the small result is transposed
    return torch.bmm(feats.flatten(2), weights.transpose(1, 2)).transpose(1, 2)  # [N, J', C]


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


def _weighted_max_forward(feats: Tensor, masks: Tensor) -> Tuple[Tensor, Tensor]:
    """``max_hw masks[:, j] * feats`` for every mask: values and indices ``[N, J, C]``.

    Outside tracing the products are formed for one sample and ``WMAX_CHANNEL_BLOCK``
    channels at a time in one reused buffer that stays in the CPU cache (several times
    faster than whole ``[N, C, HW]`` products; same values and indices). On a CPU a
    half-precision map is multiplied in float32, where the product of two half-precision
    numbers is exact: rounding is monotonic, so the stored maxima equal those of the
    half-precision products, and the index is that of the exact maximum. An ONNX trace gets
    the plain graph, one mask at a time without ``out=`` arguments.
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
    # half-precision element-wise kernels are slow on a CPU: blocks are products in float32
    # (of the same half-precision inputs), the values stored back in the features' dtype
    compute = torch.float32 if flat.device.type == 'cpu' and flat.dtype in (
        torch.bfloat16, torch.float16) else flat.dtype
    weights = weights.to(compute)
    values = flat.new_empty((num, parts, channels))
    indices = torch.empty((num, parts, channels), dtype=torch.long, device=flat.device)
    block = min(WMAX_CHANNEL_BLOCK, channels)
    buffer = torch.empty((block, length), dtype=compute, device=flat.device)
    for n in range(num):
        for c0 in range(0, channels, block):
            x = flat[n, c0:c0 + block].to(compute)
            product = buffer[:x.shape[0]]
            for j in range(parts):
                torch.mul(x, weights[n, j], out=product)
                val, idx = max_with_indices(product)
                values[n, j, c0:c0 + block] = val
                indices[n, j, c0:c0 + block] = idx
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
        flat = feats.flatten(2)  # [N, C, HW]
        weights = masks.flatten(2)  # [N, J, HW]
        grad = grad.to(flat.dtype)
        mask_at = weights.gather(2, idx).to(grad.dtype)  # [N, J, C]
        feat_at = flat.gather(2, idx.transpose(1, 2)).transpose(1, 2)  # [N, J, C]
        grad_feats = torch.zeros(flat.shape, dtype=grad.dtype, device=grad.device)
        grad_feats.scatter_add_(2, idx.transpose(1, 2), (grad * mask_at).transpose(1, 2))
        grad_masks = torch.zeros(weights.shape, dtype=grad.dtype, device=grad.device)
        grad_masks.scatter_add_(2, idx, grad * feat_at)
        return (grad_feats.view(feats.shape).to(feats.dtype),
                grad_masks.view(masks.shape).to(masks.dtype))


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
