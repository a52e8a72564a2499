"""Part-averaged batch-hard triplet loss (BPBreID, GiLt's local term).

The distance between two samples is the mean over the K parts of the Euclidean distances
of their part embeddings, ``d_ij = 1/K sum_k ||f_k^i - f_k^j||``; one batch-hard triplet
per anchor is then mined on this single ``[N, N]`` matrix. This is not the mean of K
per-part triplet losses, whose hardest positives and negatives may differ from part to part.
"""
from typing import Optional

from torch import Tensor, nn

from mmreidparts.registry import MODELS

from .triplet_loss import batch_hard_triplet, pairwise_euclidean
from .utils import check_reduction


def part_averaged_distance(parts: Tensor) -> Tensor:
    """Part-averaged Euclidean distance matrix of part embeddings ``[N, K, D]`` -> ``[N, N]``."""
    if parts.dim() != 3:
        raise ValueError('part_averaged_distance expects part embeddings [N, K, D], got '
                         f'{tuple(parts.shape)}')
    num_parts = parts.shape[1]
    if num_parts == 0:
        raise ValueError('part_averaged_distance needs at least one part (K = 0 given)')
    dist = pairwise_euclidean(parts[:, 0], parts[:, 0])  # [N, N]
    for k in range(1, num_parts):
        dist = dist + pairwise_euclidean(parts[:, k], parts[:, k])  # [N, N]
    return dist / num_parts


@MODELS.register_module()
class PartAveragedTripletLoss(nn.Module):
    """Batch-hard triplet loss on the part-averaged distance of part embeddings.

    Args:
        margin: the hinge margin alpha (0.3 in BPBreID).
        soft_margin: use ``log(1 + exp(d+ - d-))`` instead of the hinge.
        reduction: 'mean' over the anchors that have a positive and a negative, 'sum'
            or 'none'.
        loss_weight: the factor of the loss.
    """

    def __init__(self,
                 margin: float = 0.3,
                 soft_margin: bool = False,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if margin < 0:
            raise ValueError(f'PartAveragedTripletLoss margin must be >= 0, got {margin}')
        self.margin = margin
        self.soft_margin = soft_margin
        self.reduction = check_reduction(reduction)
        self.loss_weight = loss_weight

    def forward(self,
                parts: Tensor,
                labels: Tensor,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of part embeddings ``[N, K, D]`` (all parts, visible or not), labels ``[N]``."""
        reduction = reduction_override or self.reduction
        dist = part_averaged_distance(parts)  # [N, N]
        loss, _ = batch_hard_triplet(dist, labels, self.margin, self.soft_margin, reduction)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        """Short description for printing."""
        return (f'margin={self.margin}, soft_margin={self.soft_margin}, '
                f'loss_weight={self.loss_weight}')
