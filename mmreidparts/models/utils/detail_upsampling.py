"""Detail-preserving upsampling (DROP's DPU): the parsing-only map from all backbone stages."""
from typing import Sequence

from torch import Tensor, nn

from .multi_scale import resize_to


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """Conv1x1 (no bias) -> BatchNorm2d -> ReLU, Kaiming-normal conv weight."""
    conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
    nn.init.kaiming_normal_(conv.weight, mode='fan_out', nonlinearity='relu')
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class DetailPreservingUpsampling(nn.Module):
    """Top-down cascade over the stages, deep to shallow, fused by addition.

    ``T_L = CR_L(S_L)``, ``T_i = CR_i(S_i) + UP(T_{i+1})``; the output ``P_hp = T_1`` has
    the first (shallowest) map's size. ``CR_i`` = Conv1x1(c_i -> C_hp) + BN + ReLU are the
    only weights; ``UP`` is a bilinear resize to the next shallower stage's size (2x on
    HRNet, size-preserving where a ResNet with last stride 1 keeps the size). Because the
    resize is linear this is ``CR_1(S_1) + sum_i UP^(i-1)(CR_i(S_i))`` (drop.md 2.3).

    Args:
        in_channels: channels ``c_i`` of the stages, shallow to deep.
        channels: ``C_hp`` (256).
        align_corners: of the bilinear resize (False).
    """

    def __init__(self, in_channels: Sequence[int], channels: int = 256,
                 align_corners: bool = False) -> None:
        super().__init__()
        if len(in_channels) < 1 or channels <= 0:
            raise ValueError(f'DetailPreservingUpsampling needs stage channels and C_hp > 0, '
                             f'got {tuple(in_channels)} and {channels}')
        self.in_channels = tuple(int(c) for c in in_channels)
        self.channels = channels
        self.align_corners = align_corners
        self.reduce = nn.ModuleList(conv_bn_relu(c, channels) for c in self.in_channels)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """Fuse stages ``[N, c_i, h_i, w_i]`` (shallow first) into ``[N, C_hp, h_1, w_1]``."""
        if len(feats) != len(self.reduce):
            raise ValueError(f'DetailPreservingUpsampling expects {len(self.reduce)} maps, got '
                             f'{len(feats)}')
        out = self.reduce[-1](feats[-1])  # T_L
        for i in range(len(feats) - 2, -1, -1):
            lateral = self.reduce[i](feats[i])  # CR_i(S_i)
            out = lateral + resize_to(out, lateral.shape[2:], self.align_corners)
        return out
