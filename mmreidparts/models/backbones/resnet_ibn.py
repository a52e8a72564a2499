"""ResNet-IBN-a (Pan et al., IBN-Net): instance + batch normalisation in the early stages.

In stages 1-3 the first normalisation of every bottleneck is an :class:`IBN` layer: an
affine InstanceNorm2d on the first half of the channels and a BatchNorm2d on the rest;
stage 4 is a plain ResNet stage. The module names follow IBN-Net's release
(``layer1.0.bn1.IN.weight``, ``layer1.0.bn1.BN.running_mean``), which otherwise uses
torchvision's (= mmpretrain's) ResNet key names, so its ``resnet50_ibn_a`` ImageNet
weights load directly.
"""
from typing import Sequence

import torch
from mmpretrain.models.backbones.resnet import Bottleneck
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from .resnet_reid import ResNetReID


class IBN(nn.Module):
    """Instance-batch norm: IN (affine) on ``int(ratio * C)`` channels, BN on the others.

    Args:
        channels: number of channels C.
        ratio: fraction of channels that get instance normalisation (0.5 in IBN-a).
    """

    def __init__(self, channels: int, ratio: float = 0.5) -> None:
        super().__init__()
        self.half = int(channels * ratio)
        if not 0 < self.half < channels:
            raise ValueError(f'IBN: ratio {ratio} of {channels} channels must leave both an '
                             'instance-normalised and a batch-normalised part')
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(channels - self.half)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``[N, C, H, W]``: channels ``[:half]`` per instance, the rest per batch."""
        first, rest = torch.split(x, [self.half, x.shape[1] - self.half], dim=1)
        return torch.cat([self.IN(first.contiguous()), self.BN(rest.contiguous())], dim=1)


@MODELS.register_module()
class ResNetIBN(ResNetReID):
    """ResNet-IBN-a: :class:`ResNetReID` (last stride 1 by default) with IBN in stages 1-3.

    Args:
        depth: ResNet depth with bottleneck blocks (50, 101 or 152).
        ibn_stages: for each stage, whether the first norm of its bottlenecks is IBN
            (IBN-a: stages 1-3).
        ibn_ratio: fraction of instance-normalised channels.
        **kwargs: arguments of :class:`ResNetReID` (``last_stride=1``, ``pretrained``,
            ``init_cfg``, ...). Pretrained weights may be in IBN-Net's release layout
            (torchvision names, ``fc`` dropped) or in this module's own layout.
    """

    def __init__(self,
                 depth: int = 50,
                 ibn_stages: Sequence[bool] = (True, True, True, False),
                 ibn_ratio: float = 0.5,
                 **kwargs) -> None:
        if depth not in (50, 101, 152):
            raise ValueError(f'ResNetIBN: depth must be 50, 101 or 152 (bottleneck ResNets), '
                             f'got {depth}')
        num_stages = kwargs.get('num_stages', 4)
        if len(ibn_stages) != num_stages:
            raise ValueError(f'ResNetIBN: ibn_stages needs one flag per stage ({num_stages}), '
                             f'got {tuple(ibn_stages)}')
        super().__init__(depth=depth, **kwargs)
        self.ibn_stages = tuple(bool(s) for s in ibn_stages)
        self.ibn_ratio = ibn_ratio
        for stage, use_ibn in enumerate(self.ibn_stages):
            if not use_ibn:
                continue
            for block in getattr(self, self.res_layers[stage]):
                if not isinstance(block, Bottleneck):
                    raise TypeError(f'ResNetIBN expects bottleneck blocks, got '
                                    f'{type(block).__name__}')
                setattr(block, block.norm1_name, IBN(block.mid_channels, ibn_ratio))
        self._freeze_stages()  # the new IBN layers of frozen stages are frozen too
