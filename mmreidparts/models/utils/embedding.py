"""Embedding layers shared by the heads: BNNeck, Linear-BN-ReLU reduction, conv-BN embedding."""
from collections import OrderedDict
from typing import Optional, Tuple

from torch import Tensor, nn


class BNNeck(nn.Module):
    """BatchNorm1d with a frozen zero bias, then a bias-free linear identity classifier."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(in_channels)
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)
        self.bn.bias.requires_grad_(False)
        self.fc = nn.Linear(in_channels, num_classes, bias=False)
        nn.init.normal_(self.fc.weight, std=0.001)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Return the BN'd features ``[N, D]`` and the identity logits ``[N, num_classes]``."""
        bn_x = self.bn(x)
        return bn_x, self.fc(bn_x)


def dim_reduction(in_channels: int, out_channels: Optional[int], std: float = 0.01) -> nn.Module:
    """Linear-BN-ReLU from ``in_channels`` to ``out_channels`` (identity when None).

    The linear weight is drawn from ``N(0, std^2)`` with a zero bias; the BN starts at
    weight 1, bias 0.
    """
    if out_channels is None:
        return nn.Identity()
    layer = nn.Sequential(
        nn.Linear(in_channels, out_channels), nn.BatchNorm1d(out_channels), nn.ReLU(inplace=True))
    nn.init.normal_(layer[0].weight, std=std)
    nn.init.zeros_(layer[0].bias)
    return layer


def id_classifier(in_channels: int, num_classes: int, std: float = 0.001) -> nn.Linear:
    """Identity classifier ``Linear(in_channels, num_classes)`` with bias, ``N(0, std^2)`` init."""
    layer = nn.Linear(in_channels, num_classes)
    nn.init.normal_(layer.weight, std=std)
    nn.init.zeros_(layer.bias)
    return layer


def conv_bn_embedding(in_channels: int, out_channels: int, kernel_size: int = 1,
                      affine: bool = False, relu: bool = False) -> nn.Sequential:
    """Conv (Xavier-uniform weight, zero bias) -> BatchNorm2d -> optional ReLU, ``conv``/``bn``.

    The part-aligned bilinear streams end with one (1x1 to 512 on appearance, 3x3 to 128 on
    parts), with a BatchNorm without affine parameters and no ReLU, so that descriptors
    can be negative.
    """
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
    nn.init.xavier_uniform_(conv.weight)
    nn.init.zeros_(conv.bias)
    layers = [('conv', conv), ('bn', nn.BatchNorm2d(out_channels, affine=affine))]
    if relu:
        layers.append(('relu', nn.ReLU(inplace=True)))
    return nn.Sequential(OrderedDict(layers))
