"""Class-balanced pixel cross-entropy of a part segmentation head (part awareness learning).

With per-pixel losses ``l(i, h, w) = -log softmax(G_i[:, h, w])[S_i,h,w]`` over a whole
batch, the class-balanced loss first averages inside each class ``s`` present in the
batch, ``L_s = mean_{S = s} l``, then across the present classes:
``L_ps = sum_s L_s / #{s : present}``. Classes with few pixels (feet, lower arms) thus
weigh as much as the background.
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from .utils import check_pixel_logits


def class_balanced_cross_entropy(logits: Tensor,
                                 target: Tensor,
                                 class_balanced: bool = True,
                                 ignore_index: int = 255) -> Tensor:
    """Pixel cross-entropy of ``logits [N, M, H, W]`` against ``target [N, H, W]``.

    Args:
        logits: raw part logits (softmax is taken here, in float32).
        target: class ids ``0..M-1``, or ``ignore_index`` for pixels without a label.
        class_balanced: mean within each present class, then over the present classes
            (the paper); False gives the plain mean over the labelled pixels.
        ignore_index: label of the pixels that are left out.

    Returns:
        A scalar; with no labelled pixel, a zero that keeps the graph.
    """
    check_pixel_logits(logits, target, 'part segmentation labels')
    num_classes = logits.shape[1]
    target = target.long()
    valid = target != ignore_index  # [N, H, W]
    if not bool(valid.any()):
        return logits.sum() * 0.0
    labelled = target[valid]
    if int(labelled.min()) < 0 or int(labelled.max()) >= num_classes:
        bad = int(labelled.max()) if int(labelled.max()) >= num_classes else int(labelled.min())
        raise ValueError(f'part segmentation label {bad} is outside [0, {num_classes}) (and '
                         f'is not the ignore index {ignore_index})')
    pixel = F.cross_entropy(logits.float(), target, ignore_index=ignore_index,
                            reduction='none')  # [N, H, W], 0 where ignored
    if not class_balanced:
        return pixel[valid].mean()
    losses = pixel[valid]  # [V]
    sums = torch.zeros(num_classes, dtype=losses.dtype, device=losses.device)
    sums = sums.scatter_add(0, labelled, losses)  # [M]
    counts = torch.bincount(labelled, minlength=num_classes)  # [M]
    present = counts > 0
    return (sums[present] / counts[present]).mean()


@MODELS.register_module()
class PartSegLoss(nn.Module):
    """Class-balanced pixel cross-entropy of part logits (``L_ps``), times ``loss_weight``.

    Args:
        class_balanced: average within each present class first (True, the paper), or
            over all labelled pixels (False, the ablation).
        ignore_index: label of the pixels without supervision.
        loss_weight: lambda of ``L = L_reid + lambda * L_ps`` (1 in the paper).
    """

    def __init__(self,
                 class_balanced: bool = True,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if loss_weight < 0:
            raise ValueError(f'PartSegLoss loss_weight must be >= 0, got {loss_weight}')
        self.class_balanced = class_balanced
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Loss of part logits ``[N, M, H, W]`` against labels ``[N, H, W]``."""
        loss = class_balanced_cross_entropy(logits, target, self.class_balanced,
                                            self.ignore_index)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        """Short description for printing."""
        return (f'class_balanced={self.class_balanced}, ignore_index={self.ignore_index}, '
                f'loss_weight={self.loss_weight}')
