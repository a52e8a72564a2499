"""Part-averaged batch-hard triplet loss (BPBreID, GiLt's local term).

The distance between two samples is the mean over the K parts of the Euclidean distances
of their part embeddings, ``d_ij = 1/K sum_k ||f_k^i - f_k^j||``; one batch-hard triplet
per anchor is then mined on this single ``[N, N]`` matrix. This is not the mean of K
per-part triplet losses, whose hardest positives and negatives may differ from part to part.

With part visibility ``v [N, K]`` the mean runs over the parts both samples show,
``d_ij = sum_k v_ik v_jk ||f_k^i - f_k^j|| / sum_k v_ik v_jk`` (with binary visibility,
VPM's region-selective distance, vpm.md Eq. 7), and pairs that share no visible part are
left out of the mining.
"""
from typing import Optional

from torch import Tensor, nn

from mmreidparts.registry import MODELS

from .triplet_loss import batch_hard_triplet, pairwise_euclidean
from .utils import check_reduction


def shared_parts(visibility: Tensor) -> Tensor:
    """``[N, N]`` weight ``sum_k v_ik v_jk`` of the parts two samples both show (float32)."""
    vis = visibility.float()  # [N, K]
    return vis @ vis.t()


def part_averaged_distance(parts: Tensor, visibility: Optional[Tensor] = None) -> Tensor:
    """Part-averaged Euclidean distance matrix of part embeddings ``[N, K, D]`` -> ``[N, N]``.

    With ``visibility`` ``[N, K]`` (>= 0), the visibility-weighted mean over the parts
    both samples show; 0 for pairs that share none (see :func:`shared_parts`). The
    distances are float32 (also under autocast).
    """
    if parts.dim() != 3:
        raise ValueError('part_averaged_distance expects part embeddings [N, K, D], got '
                         f'{tuple(parts.shape)}')
    num_parts = parts.shape[1]
    if num_parts == 0:
        raise ValueError('part_averaged_distance needs at least one part (K = 0 given)')
    if visibility is not None and tuple(visibility.shape) != tuple(parts.shape[:2]):
        raise ValueError(f'part visibility must be [N, K] = {tuple(parts.shape[:2])}, got '
                         f'{tuple(visibility.shape)}')
    vis = None if visibility is None else visibility.float()  # [N, K]
    dist = None
    for k in range(num_parts):
        dist_k = pairwise_euclidean(parts[:, k], parts[:, k])  # [N, N]
        if vis is not None:
            dist_k = dist_k * (vis[:, k, None] * vis[None, :, k])
        dist = dist_k if dist is None else dist + dist_k
    if vis is None:
        return dist / num_parts
    return dist / shared_parts(vis).clamp(min=1e-12)


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
                reduction_override: Optional[str] = None,
                visibility: Optional[Tensor] = None) -> Tensor:
        """Loss of part embeddings ``[N, K, D]`` with labels ``[N]``.

        Without ``visibility`` every part counts; with ``visibility`` ``[N, K]`` the
        distance averages over the parts both samples show and pairs sharing none are
        not mined.
        """
        reduction = reduction_override or self.reduction
        dist = part_averaged_distance(parts, visibility)  # [N, N]
        pair_mask = None if visibility is None else shared_parts(visibility) > 0
        loss, _ = batch_hard_triplet(dist, labels, self.margin, self.soft_margin, reduction,
                                     pair_mask)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        """Short description for printing."""
        return (f'margin={self.margin}, soft_margin={self.soft_margin}, '
                f'loss_weight={self.loss_weight}')
