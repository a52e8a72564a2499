"""Body part attention loss (BPBreID's L_pa): pixel-wise cross-entropy of the part classifier."""
import torch.nn.functional as F
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from .utils import check_pixel_logits


def body_part_attention_loss(logits: Tensor,
                             target: Tensor,
                             label_smoothing: float = 0.1,
                             ignore_index: int = 255) -> Tensor:
    """Mean pixel cross-entropy of logits ``[N, K+1, H, W]`` against labels ``[N, H, W]``.

    With smoothing ``e`` the target of a pixel labelled ``y`` is
    ``(1 - e) * onehot(y) + e / (K + 1)``. Pixels labelled ``ignore_index`` are left out
    and the mean is taken over the others; with no valid pixel the loss is a zero that
    keeps the graph.
    """
    check_pixel_logits(logits, target, 'body part labels')
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing}')
    target = target.long()
    if not bool((target != ignore_index).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits, target, ignore_index=ignore_index,
                           label_smoothing=label_smoothing, reduction='mean')


@MODELS.register_module()
class BodyPartAttentionLoss(nn.Module):
    """Pixel-wise part classification loss with label smoothing, mean over labelled pixels.

    Args:
        label_smoothing: smoothing rate over the K+1 classes (0.1 in BPBreID).
        ignore_index: label of pixels that carry no supervision.
        loss_weight: the factor of the loss (lambda_pa, 0.35 in BPBreID).
    """

    def __init__(self,
                 label_smoothing: float = 0.1,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing}')
        self.label_smoothing = label_smoothing
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Loss of part logits ``[N, K+1, H, W]`` against part labels ``[N, H, W]``."""
        loss = body_part_attention_loss(logits, target, self.label_smoothing, self.ignore_index)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        """Short description for printing."""
        return (f'label_smoothing={self.label_smoothing}, ignore_index={self.ignore_index}, '
                f'loss_weight={self.loss_weight}')
