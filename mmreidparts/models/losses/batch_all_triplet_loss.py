"""Batch-all triplet loss: every valid triplet of the batch, no mining.

For a batch of B descriptors with identity labels, the valid triplets are ``(q, p, n)``
with ``y_p = y_q``, ``p != q`` and ``y_n != y_q``: ``sum_id K_id (K_id - 1) (B - K_id)`` of
them. Each contributes a hinge

- ``metric='similarity'``: ``max(m + <f_q, f_n> - <f_q, f_p>, 0)`` (inner products; the
  part-aligned bilinear paper, Eq. 6),
- ``metric='sqeuclidean'``: ``max(m + |f_q - f_p|^2 - |f_q - f_n|^2, 0)`` (its release; on
  unit-norm descriptors this is ``2 max(m / 2 + <f_q, f_n> - <f_q, f_p>, 0)``),

and the sum is divided by the number of valid triplets (``reduction='all'``, Eq. 7) or by
the number of triplets with a positive hinge (``'active'``, the release: "same as Caffe").
The ``[B, B, B]`` hinge tensor is built in one piece (5.8M entries for B = 180).
"""
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from .triplet_loss import pairwise_squared_euclidean

METRICS = ('similarity', 'sqeuclidean')
REDUCTIONS = ('all', 'active', 'sum')


class BatchAllResult(NamedTuple):
    """Loss and triplet counts of :func:`batch_all_triplet`."""

    loss: Tensor  # scalar
    num_triplets: Tensor  # long scalar: valid triplets
    num_active: Tensor  # long scalar: valid triplets with a positive hinge


def batch_all_triplet(feats: Tensor,
                      labels: Tensor,
                      margin: float = 0.2,
                      metric: str = 'similarity',
                      reduction: str = 'active') -> BatchAllResult:
    """Batch-all triplet loss of descriptors ``feats`` [B, D] with labels ``[B]``.

    Computed in float32, also under autocast. With no valid (or no active) triplet the
    loss is a zero that keeps the graph.
    """
    if metric not in METRICS:
        raise ValueError(f'batch_all_triplet: metric must be one of {METRICS}, got {metric!r}')
    if reduction not in REDUCTIONS:
        raise ValueError(f'batch_all_triplet: reduction must be one of {REDUCTIONS}, '
                         f'got {reduction!r}')
    if feats.dim() != 2:
        raise ValueError(f'batch_all_triplet expects descriptors [B, D], got {tuple(feats.shape)}')
    labels = labels.reshape(-1)
    if labels.numel() != feats.shape[0]:
        raise ValueError(f'{labels.numel()} labels for a batch of {feats.shape[0]} descriptors')
    with torch.autocast(device_type=feats.device.type, enabled=False):
        x = feats.float()
        if metric == 'similarity':
            sim = x @ x.t()  # [B, B]
            # hinge[q, p, n] = m + s(q, n) - s(q, p)
            hinge = margin + sim[:, None, :] - sim[:, :, None]  # [B, B, B]
        else:
            dist = pairwise_squared_euclidean(x, x)  # [B, B]
            hinge = margin + dist[:, :, None] - dist[:, None, :]  # [B, B, B]
        same = labels[:, None] == labels[None, :]  # [B, B]
        eye = torch.eye(labels.numel(), dtype=torch.bool, device=labels.device)
        pos = same & ~eye  # [B, B]: (q, p)
        neg = ~same  # [B, B]: (q, n)
        valid = pos[:, :, None] & neg[:, None, :]  # [B, B, B]
        terms = F.relu(hinge) * valid  # [B, B, B]
        num_triplets = valid.sum()
        num_active = (terms > 0).sum()
        total = terms.sum()
        if reduction == 'sum':
            loss = total
        else:
            count = num_triplets if reduction == 'all' else num_active
            loss = total / count.clamp(min=1).to(total.dtype)
    return BatchAllResult(loss, num_triplets, num_active)


@MODELS.register_module()
class BatchAllTripletLoss(nn.Module):
    """Batch-all triplet loss on a batch of descriptors (see the module docstring).

    Args:
        margin: the hinge margin m (0.2 in the part-aligned bilinear paper).
        metric: 'similarity' (inner products, the paper) or 'sqeuclidean' (squared
            Euclidean distances, the release; with m = 0.2 an effective similarity margin
            of 0.1).
        reduction: 'active' (default: the sum over the number of triplets with a positive
            hinge, as the authors' code, which says it mirrors the Caffe code behind the
            paper's numbers), 'all' (the mean over the valid triplets, the paper's Eq. 7
            taken literally) or 'sum'.
        loss_weight: the factor of the loss.
    """

    def __init__(self,
                 margin: float = 0.2,
                 metric: str = 'similarity',
                 reduction: str = 'active',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if margin < 0:
            raise ValueError(f'BatchAllTripletLoss margin must be >= 0, got {margin}')
        if metric not in METRICS:
            raise ValueError(f'BatchAllTripletLoss metric must be one of {METRICS}, '
                             f'got {metric!r}')
        if reduction not in REDUCTIONS:
            raise ValueError(f'BatchAllTripletLoss reduction must be one of {REDUCTIONS}, '
                             f'got {reduction!r}')
        self.margin = margin
        self.metric = metric
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.last: Optional[BatchAllResult] = None

    def forward(self, feats: Tensor, labels: Tensor) -> Tensor:
        """Loss of descriptors ``[B, D]`` with identity labels ``[B]``; counts in ``last``."""
        self.last = batch_all_triplet(feats, labels, self.margin, self.metric, self.reduction)
        return self.loss_weight * self.last.loss

    def extra_repr(self) -> str:
        """Short description for printing."""
        return (f'margin={self.margin}, metric={self.metric!r}, '
                f'reduction={self.reduction!r}, loss_weight={self.loss_weight}')
