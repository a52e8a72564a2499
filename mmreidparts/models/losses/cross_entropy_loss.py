"""Cross-entropy identity loss with label smoothing (BoT's ID loss)."""
from typing import Optional, Union

import torch.nn.functional as F
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from .utils import check_reduction, weight_reduce_loss


def cross_entropy(cls_score: Tensor,
                  label: Tensor,
                  label_smoothing: float = 0.0,
                  weight: Optional[Tensor] = None,
                  reduction: str = 'mean',
                  avg_factor: Optional[Union[int, float, Tensor]] = None,
                  class_weight: Optional[Tensor] = None) -> Tensor:
    """Cross-entropy of logits ``[N, C]`` with class indices ``[N]`` (or soft targets ``[N, C]``).

    With ``label_smoothing = e`` the target is ``(1 - e) * onehot + e / C``.

    Args:
        cls_score: ``[N, C]`` logits.
        label: ``[N]`` class indices, or ``[N, C]`` target probabilities.
        label_smoothing: the smoothing rate ``e`` in [0, 1).
        weight: ``[N]`` per-sample weights, or None.
        reduction: 'none', 'mean' or 'sum'.
        avg_factor: divisor of the mean instead of N.
        class_weight: ``[C]`` per-class weights, or None.
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing}')
    loss = F.cross_entropy(cls_score, label, weight=class_weight, reduction='none',
                           label_smoothing=label_smoothing)  # [N]
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Softmax cross-entropy with optional label smoothing.

    Args:
        label_smoothing: smoothing rate (0.1 in BoT).
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: the factor of the loss.
        class_weight: optional list of per-class weights.
    """

    def __init__(self,
                 label_smoothing: float = 0.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 class_weight: Optional[list] = None) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing}')
        self.label_smoothing = label_smoothing
        self.reduction = check_reduction(reduction)
        self.loss_weight = loss_weight
        self.class_weight = class_weight

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[int, float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of logits ``[N, C]`` against labels ``[N]``."""
        reduction = reduction_override or self.reduction
        class_weight = None
        if self.class_weight is not None:
            class_weight = cls_score.new_tensor(self.class_weight)  # [C]
        loss = cross_entropy(cls_score, label, self.label_smoothing, weight, reduction,
                             avg_factor, class_weight)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        """Short description for printing."""
        return f'label_smoothing={self.label_smoothing}, loss_weight={self.loss_weight}'
