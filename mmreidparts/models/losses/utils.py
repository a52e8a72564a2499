"""Reduction and weighting of element-wise losses, done in one place for every loss."""
from typing import Optional, Union

import torch
from torch import Tensor

REDUCTIONS = ('none', 'mean', 'sum')


def check_reduction(reduction: str) -> str:
    """Return ``reduction`` if it is one of 'none', 'mean', 'sum', else raise a ValueError."""
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
    return reduction


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Reduce an element-wise loss with 'none', 'mean' or 'sum'."""
    check_reduction(reduction)
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


def weight_reduce_loss(loss: Tensor,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean',
                       avg_factor: Optional[Union[int, float, Tensor]] = None) -> Tensor:
    """Weight an element-wise loss, then reduce it.

    Args:
        loss: element-wise loss, e.g. ``[N]``.
        weight: element-wise weights broadcastable to ``loss``, or None.
        reduction: 'none', 'mean' or 'sum'.
        avg_factor: with ``reduction='mean'``, divide the sum by this number instead of
            the number of elements (e.g. the number of valid anchors of a triplet loss).

    Returns:
        The reduced loss (a scalar unless ``reduction='none'``).
    """
    check_reduction(reduction)
    if weight is not None:
        loss = loss * weight.to(loss.dtype)
    if avg_factor is None:
        return reduce_loss(loss, reduction)
    if reduction == 'mean':
        # the clamp keeps an empty batch (avg_factor 0, loss sum 0) at a zero, not NaN, loss
        factor = torch.as_tensor(avg_factor, dtype=loss.dtype, device=loss.device)
        return loss.sum() / factor.clamp(min=torch.finfo(loss.dtype).eps)
    if reduction == 'sum':
        raise ValueError('avg_factor can only be used with reduction="mean"')
    return loss


def check_pixel_logits(logits: Tensor, target: Tensor, what: str) -> None:
    """Raise a ValueError unless ``logits`` is ``[N, M, H, W]`` and ``target`` ``[N, H, W]``.

    ``what`` names the labels in the message (e.g. 'body part labels').
    """
    if logits.dim() != 4:
        raise ValueError(f'{what}: expected logits [N, M, H, W], got {tuple(logits.shape)}')
    if target.shape != (logits.shape[0], ) + logits.shape[2:]:
        raise ValueError(f'{what} {tuple(target.shape)} do not match the logits '
                         f'{tuple(logits.shape)}: expected [N, H, W] = '
                         f'{(logits.shape[0], ) + tuple(logits.shape[2:])}')
