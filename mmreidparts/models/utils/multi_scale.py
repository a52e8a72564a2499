"""Multi-scale feature maps: resize to one size and concatenate (HRNet fusion, DROP's P_reid)."""
from functools import lru_cache
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor


@lru_cache(maxsize=64)
def _interpolation_matrix(out_size: int, in_size: int, align_corners: bool) -> Tensor:
    """``A [out, in]`` (float64) with ``A @ v`` the 1D linear resize of ``v`` (2 taps per row).

    The source coordinate of output ``i`` is ``i (in - 1) / (out - 1)`` with
    ``align_corners``, else ``(i + 0.5) in / out - 0.5`` clamped at 0 (as
    ``F.interpolate(mode='bilinear')``, no antialiasing); rows sum to 1.
    """
    i = torch.arange(out_size, dtype=torch.float64)
    if align_corners:
        src = i * ((in_size - 1) / (out_size - 1)) if out_size > 1 else torch.zeros_like(i)
    else:
        src = ((i + 0.5) * (in_size / out_size) - 0.5).clamp(min=0)
    lo = src.floor().long().clamp(max=in_size - 1)
    hi = (lo + 1).clamp(max=in_size - 1)
    frac = src - lo
    mat = torch.zeros(out_size, in_size, dtype=torch.float64)
    rows = torch.arange(out_size)
    mat.index_put_((rows, lo), 1 - frac, accumulate=True)
    mat.index_put_((rows, hi), frac, accumulate=True)
    return mat


def interpolation_matrices(in_size: Tuple[int, int], size: Tuple[int, int],
                           align_corners: Optional[bool], dtype: torch.dtype,
                           device: torch.device) -> Tuple[Tensor, Tensor]:
    """``(A_h [H, h], A_w [W, w])``: ``A_h @ x @ A_w.T`` is the bilinear resize of ``x``."""
    corners = bool(align_corners)
    return tuple(_interpolation_matrix(int(o), int(i), corners).to(device=device, dtype=dtype)
                 for o, i in zip(size, in_size))


def resize_to(x: Tensor, size: Tuple[int, int], align_corners: Optional[bool] = True) -> Tensor:
    """Bilinear resize of ``x [N, C, h, w]`` to ``size``; a map of that size passes unchanged.

    The result is ``F.interpolate(x, size, mode='bilinear', align_corners=...)`` (to float
    rounding), computed as two products with the 1D interpolation matrices,
    ``A_h @ x @ A_w.T``: its backward pass is two products too, several times faster on a
    CPU than the scatter of the interpolation's own backward, and it exports to ONNX as
    ``MatMul``.
    """
    size = tuple(int(s) for s in size)
    if tuple(x.shape[2:]) == size:
        return x
    if x.dim() != 4:
        raise ValueError(f'resize_to expects [N, C, h, w], got {tuple(x.shape)}')
    dtype = x.dtype if x.is_floating_point() else torch.float32
    mat_h, mat_w = interpolation_matrices(tuple(x.shape[2:]), size, align_corners, dtype,
                                          x.device)
    return torch.matmul(torch.matmul(mat_h, x), mat_w.t())


def resize_concat(feats: Sequence[Tensor],
                  size: Optional[Tuple[int, int]] = None,
                  align_corners: Optional[bool] = True) -> Tensor:
    """Upsample every map of ``feats`` to ``size`` (default: the first map's) and concatenate.

    ``feats`` is a sequence of ``[N, C_i, h_i, w_i]`` maps; the result is
    ``[N, sum C_i, *size]`` with the first map's channels first, unchanged when it already
    has ``size`` (BPBreID's HRNet-W32 output, DROP's P_reid).
    """
    if len(feats) == 0:
        raise ValueError('resize_concat needs at least one feature map')
    if any(f.dim() != 4 for f in feats):
        raise ValueError('resize_concat expects [N, C, H, W] maps, got '
                         f'{[tuple(f.shape) for f in feats]}')
    size = tuple(feats[0].shape[2:]) if size is None else tuple(size)
    return torch.cat([resize_to(f, size, align_corners) for f in feats], dim=1)
