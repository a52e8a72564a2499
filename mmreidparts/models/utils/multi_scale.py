"""Multi-scale feature maps: resize to one size and concatenate (HRNet fusion, DROP's P_reid)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def resize_to(x: Tensor, size: Tuple[int, int], align_corners: Optional[bool] = True) -> Tensor:
    """Bilinear resize of ``x [N, C, h, w]`` to ``size``; a map of that size passes unchanged."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=align_corners)


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
