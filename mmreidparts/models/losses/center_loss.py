"""Center loss (Wen et al., 2016), used by BoT on the pre-BN feature."""
from typing import Optional

import torch
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from .utils import check_reduction, weight_reduce_loss


def center_distance(feats: Tensor, centers: Tensor, labels: Tensor) -> Tensor:
    """Squared Euclidean distance of each feature ``[N, D]`` to its class centre.

    Args:
        feats: ``[N, D]`` features.
        centers: ``[C, D]`` class centres.
        labels: ``[N]`` class indices.

    Returns:
        ``[N]`` squared distances ``||f_i - c_{y_i}||^2``.
    """
    if feats.dim() != 2 or feats.shape[1] != centers.shape[1]:
        raise ValueError(f'center loss expects features [N, {centers.shape[1]}], '
                         f'got {tuple(feats.shape)}')
    labels = labels.reshape(-1).long()
    if labels.numel() and (labels.min() < 0 or labels.max() >= centers.shape[0]):
        raise ValueError(f'center loss labels must be in [0, {centers.shape[0]}), got '
                         f'{labels.min().item()}..{labels.max().item()}')
    return (feats - centers[labels]).pow(2).sum(dim=1)  # [N]


@MODELS.register_module()
class CenterLoss(nn.Module):
    """Mean squared distance of features to learnable class centres.

    ``loss = mean_i ||f_i - c_{y_i}||^2`` (the paper's factor 1/2 is left to
    ``loss_weight``; BoT uses ``loss_weight=0.0005``). The centres are a parameter of
    this module (``centers``, ``[num_classes, feat_dim]``); give them their own learning
    rate and no weight decay with the optimiser's ``paramwise_cfg`` if needed.

    Args:
        num_classes: number of training identities.
        feat_dim: feature dimension.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: the factor of the loss.
    """

    def __init__(self,
                 num_classes: int,
                 feat_dim: int,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if num_classes <= 0 or feat_dim <= 0:
            raise ValueError(f'CenterLoss needs num_classes > 0 and feat_dim > 0, got '
                             f'{num_classes} and {feat_dim}')
        self.num_classes = num_classes
        self.feat_dim = feat_dim
        self.reduction = check_reduction(reduction)
        self.loss_weight = loss_weight
        self.centers = nn.Parameter(torch.randn(num_classes, feat_dim))  # [C, D]

    def forward(self,
                feats: Tensor,
                labels: Tensor,
                weight: Optional[Tensor] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of features ``[N, D]`` with class labels ``[N]``."""
        reduction = reduction_override or self.reduction
        loss = center_distance(feats, self.centers, labels)  # [N]
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction)

    def extra_repr(self) -> str:
        """Short description for printing."""
        return (f'num_classes={self.num_classes}, feat_dim={self.feat_dim}, '
                f'loss_weight={self.loss_weight}')
