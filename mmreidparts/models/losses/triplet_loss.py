"""Batch-hard triplet loss (Hermans et al., "In Defense of the Triplet Loss").

The functional core is split in two so that part-based variants reuse the mining:
``pairwise_euclidean`` builds a distance matrix and ``batch_hard_triplet`` mines and
scores triplets on *any* ``[N, N]`` distance matrix (e.g. a part-averaged one).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from .utils import check_reduction, weight_reduce_loss


def pairwise_squared_euclidean(x: Tensor, y: Tensor) -> Tensor:
    """Squared Euclidean distances ``[N, M]`` between the rows of ``x`` [N, D] and ``y`` [M, D].

    Computed as ``|x|^2 + |y|^2 - 2 x.y`` in float32 even under autocast (in float16 or
    bfloat16 the cancellation would lose the small distances that triplet losses compare),
    and clamped at 0 against rounding.
    """
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1]:
        raise ValueError('pairwise distances expect x [N, D] and y [M, D], got '
                         f'{tuple(x.shape)} and {tuple(y.shape)}')
    with torch.autocast(device_type=x.device.type, enabled=False):
        x, y = x.float(), y.float()
        x2 = x.pow(2).sum(dim=1, keepdim=True)  # [N, 1]
        y2 = y.pow(2).sum(dim=1, keepdim=True).t()  # [1, M]
        return torch.addmm(x2 + y2, x, y.t(), beta=1.0, alpha=-2.0).clamp(min=0)  # [N, M]


def pairwise_euclidean(x: Tensor, y: Tensor, eps: float = 1e-12) -> Tensor:
    """Euclidean (not squared) distances between the rows of ``x`` [N, D] and ``y`` [M, D].

    The squared distance (:func:`pairwise_squared_euclidean`, float32 even under
    autocast) is clamped at ``eps`` before the square root, so the gradient stays finite
    where two rows coincide (at a zero distance it is zero).

    Returns:
        ``[N, M]`` distances.
    """
    dist2 = pairwise_squared_euclidean(x, y)  # [N, M] float32
    with torch.autocast(device_type=dist2.device.type, enabled=False):
        return dist2.clamp(min=eps).sqrt()


def batch_hard_triplet(dist: Tensor,
                       labels: Tensor,
                       margin: float = 0.3,
                       soft_margin: bool = False,
                       reduction: str = 'mean',
                       pair_mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """Batch-hard triplet loss on a precomputed distance matrix.

    For each anchor ``a``: ``d+ = max_{p != a, y_p = y_a} d[a, p]`` (hardest positive) and
    ``d- = min_{y_n != y_a} d[a, n]`` (hardest negative); the loss of the anchor is
    ``max(d+ - d- + margin, 0)``, or ``log(1 + exp(d+ - d-))`` with ``soft_margin``
    (the margin is then unused). Anchors lacking a positive or a negative are skipped.

    Args:
        dist: ``[N, N]`` distances between the samples of a batch.
        labels: ``[N]`` identity labels.
        margin: the margin of the hinge.
        soft_margin: use the soft-plus form instead of the hinge.
        reduction: 'mean' (over the valid anchors), 'sum', or 'none' (``[N]``, zero for
            skipped anchors).
        pair_mask: optional ``[N, N]`` bool, the pairs that can be compared (e.g. those
            sharing a visible region); the others are never mined, and an anchor left
            without a comparable positive or negative is skipped.

    Returns:
        ``(loss, num_valid)``: the loss and the number of anchors that had both a positive
        and a negative (a long scalar tensor).
    """
    check_reduction(reduction)
    if dist.dim() != 2 or dist.shape[0] != dist.shape[1]:
        raise ValueError(f'batch_hard_triplet expects a square [N, N] distance matrix, '
                         f'got {tuple(dist.shape)}')
    labels = labels.reshape(-1)
    if labels.numel() != dist.shape[0]:
        raise ValueError(f'{labels.numel()} labels for a {dist.shape[0]}x{dist.shape[0]} '
                         'distance matrix')
    num = dist.shape[0]
    same = labels[:, None] == labels[None, :]  # [N, N]
    eye = torch.eye(num, dtype=torch.bool, device=dist.device)
    pos_mask = same & ~eye  # [N, N]
    neg_mask = ~same  # [N, N]
    if pair_mask is not None:
        if pair_mask.shape != dist.shape:
            raise ValueError(f'pair_mask must be [N, N] like the distances {tuple(dist.shape)}, '
                             f'got {tuple(pair_mask.shape)}')
        pos_mask = pos_mask & pair_mask.bool()
        neg_mask = neg_mask & pair_mask.bool()
    valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)  # [N]

    # masked entries are replaced by a value that can never be selected
    hardest_pos = dist.masked_fill(~pos_mask, float('-inf')).max(dim=1).values  # [N]
    hardest_neg = dist.masked_fill(~neg_mask, float('inf')).min(dim=1).values  # [N]
    zeros = dist.new_zeros(num)
    hardest_pos = torch.where(valid, hardest_pos, zeros)
    hardest_neg = torch.where(valid, hardest_neg, zeros)
    gap = hardest_pos - hardest_neg  # [N]
    per_anchor = F.softplus(gap) if soft_margin else F.relu(gap + margin)  # [N]
    per_anchor = per_anchor * valid.to(per_anchor.dtype)
    num_valid = valid.sum()
    loss = weight_reduce_loss(per_anchor, reduction=reduction,
                              avg_factor=num_valid if reduction == 'mean' else None)
    return loss, num_valid


@MODELS.register_module()
class TripletLoss(nn.Module):
    """Batch-hard triplet loss on the Euclidean distances of a batch of features.

    Args:
        margin: the hinge margin (0.3 in BoT).
        soft_margin: use ``log(1 + exp(d+ - d-))`` instead of the hinge.
        normalize: L2-normalise the features before measuring distances.
        reduction: 'mean' over valid anchors, 'sum' or 'none'.
        loss_weight: the factor of the loss.
    """

    def __init__(self,
                 margin: float = 0.3,
                 soft_margin: bool = False,
                 normalize: bool = False,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if margin < 0:
            raise ValueError(f'TripletLoss margin must be >= 0, got {margin}')
        self.margin = margin
        self.soft_margin = soft_margin
        self.normalize = normalize
        self.reduction = check_reduction(reduction)
        self.loss_weight = loss_weight

    def forward(self,
                feats: Tensor,
                labels: Tensor,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of features ``[N, D]`` with identity labels ``[N]``."""
        reduction = reduction_override or self.reduction
        if self.normalize:
            feats = F.normalize(feats, dim=1)
        dist = pairwise_euclidean(feats, feats)  # [N, N]
        loss, _ = batch_hard_triplet(dist, labels, self.margin, self.soft_margin, reduction)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        """Short description for printing."""
        return (f'margin={self.margin}, soft_margin={self.soft_margin}, '
                f'normalize={self.normalize}, loss_weight={self.loss_weight}')
