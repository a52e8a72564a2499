"""DROP's spatially smoothed parsing loss: label-smoothed pixel CE + total variation of the maps.

``L_hp = CE_ls(logits, labels) + gamma / (N H W) * sum_{n,k,h,w} (|p_k(h+1,w) - p_k(h,w)|
+ |p_k(h,w+1) - p_k(h,w)|)`` with ``p = softmax(logits)`` over the K+1 classes, the CE
averaged over the labelled pixels with smoothing over the K+1 classes (drop.md 3.4).
Differences that fall outside the map are dropped.
"""
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from .body_part_attention_loss import body_part_attention_loss


def spatial_smoothness(probs: Tensor) -> Tensor:
    """Sum over classes of the vertical and horizontal absolute differences, per pixel mean.

    ``probs`` is ``[N, C, H, W]``; the sum of all differences is divided by ``N H W``.
    """
    num, _, height, width = probs.shape
    dy = (probs[:, :, 1:] - probs[:, :, :-1]).abs().sum()
    dx = (probs[:, :, :, 1:] - probs[:, :, :, :-1]).abs().sum()
    return (dy + dx) / (num * height * width)


def smoothed_parsing_loss(logits: Tensor, target: Tensor, label_smoothing: float = 0.1,
                          gamma: float = 0.5, ignore_index: int = 255) -> Tensor:
    """``L_hp`` of logits ``[N, K+1, H, W]`` against labels ``[N, H, W]``."""
    loss = body_part_attention_loss(logits, target, label_smoothing, ignore_index)
    if gamma == 0:
        return loss
    return loss + gamma * spatial_smoothness(logits.float().softmax(dim=1))


@MODELS.register_module()
class SmoothedParsingLoss(nn.Module):
    """Spatially smoothed parsing loss (DROP's ``L_hp``).

    Args:
        label_smoothing: eps over the K+1 classes (0.1).
        gamma: weight of the smoothness term (0.5; 0 = plain label-smoothed CE).
        ignore_index: label of unsupervised pixels (left out of the CE).
        loss_weight: lambda (0.4).
    """

    def __init__(self, label_smoothing: float = 0.1, gamma: float = 0.5,
                 ignore_index: int = 255, loss_weight: float = 0.4) -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f'SmoothedParsingLoss gamma must be >= 0, got {gamma}')
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing}')
        self.label_smoothing = label_smoothing
        self.gamma = gamma
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Loss of parsing logits ``[N, K+1, H, W]`` against labels ``[N, H, W]``."""
        return self.loss_weight * smoothed_parsing_loss(
            logits, target, self.label_smoothing, self.gamma, self.ignore_index)

    def extra_repr(self) -> str:
        """Short description for printing."""
        return (f'label_smoothing={self.label_smoothing}, gamma={self.gamma}, '
                f'loss_weight={self.loss_weight}')
