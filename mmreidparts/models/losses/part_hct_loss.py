"""Part-level hard-mining center-triplet loss (HCT, Zhao et al., TMM 2020), per part, averaged.

For each part k, with the in-batch identity centres ``c_y^k`` (mean part embedding of the
identity): ``L_k = mean_y [ max_{i: y_i = y} ||e_i^k - c_y^k|| - min_{y' != y}
||c_y^k - c_{y'}^k|| + alpha ]_+``; the loss is the mean over the K parts. A Table 5
baseline of DROP (drop.md 3.3); visibility is not used.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from .triplet_loss import pairwise_euclidean


def part_hct(parts: Tensor, labels: Tensor, margin: float = 0.3) -> Tensor:
    """HCT loss of part embeddings ``[N, K, D]`` with labels ``[N]`` (0 with one identity)."""
    if parts.dim() != 3:
        raise ValueError(f'part_hct expects part embeddings [N, K, D], got {tuple(parts.shape)}')
    ids, inverse = labels.reshape(-1).unique(return_inverse=True)
    num_ids = ids.numel()
    if num_ids < 2:
        return parts.sum() * 0.0
    x = parts.float()
    onehot = F.one_hot(inverse, num_ids).to(x.dtype)  # [N, Y]
    centers = torch.einsum('ny,nkd->ykd', onehot, x) / onehot.sum(0)[:, None, None]  # [Y, K, D]
    to_center = (x - centers[inverse]).pow(2).sum(-1).clamp(min=1e-12).sqrt()  # [N, K]
    spread = torch.full((num_ids, x.shape[1]), float('-inf'), dtype=x.dtype, device=x.device)
    spread = spread.scatter_reduce(0, inverse[:, None].expand_as(to_center), to_center,
                                   reduce='amax')  # [Y, K]
    eye = torch.eye(num_ids, dtype=torch.bool, device=x.device)
    losses = []
    for k in range(x.shape[1]):
        between = pairwise_euclidean(centers[:, k], centers[:, k])  # [Y, Y]
        nearest = between.masked_fill(eye, float('inf')).min(dim=1).values  # [Y]
        losses.append(F.relu(spread[:, k] - nearest + margin).mean())
    return torch.stack(losses).mean()


@MODELS.register_module()
class PartHCTLoss(nn.Module):
    """Part-level hard-mining center-triplet loss (a DROP Table 5 baseline).

    Args:
        margin: alpha (0.3).
        loss_weight: the factor of the loss.
    """

    def __init__(self, margin: float = 0.3, loss_weight: float = 1.0) -> None:
        super().__init__()
        if margin < 0:
            raise ValueError(f'PartHCTLoss margin must be >= 0, got {margin}')
        self.margin = margin
        self.loss_weight = loss_weight

    def forward(self, parts: Tensor, labels: Tensor,
                visibility: Optional[Tensor] = None) -> Tensor:
        """Loss of part embeddings ``[N, K, D]`` with labels ``[N]`` (visibility unused)."""
        return self.loss_weight * part_hct(parts, labels, self.margin)
