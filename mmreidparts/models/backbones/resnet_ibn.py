"""ResNet-IBN-a (Pan et al., IBN-Net): instance + batch normalisation in the early stages.

In stages 1-3 the first normalisation of every bottleneck is an :class:`IBN` layer: an
affine InstanceNorm2d on the first half of the channels and a BatchNorm2d on the rest;
stage 4 is a plain ResNet stage. The module names follow IBN-Net's release
(``layer1.0.bn1.IN.weight``, ``layer1.0.bn1.BN.running_mean``), which otherwise uses
torchvision's (= mmpretrain's) ResNet key names, so its ``resnet50_ibn_a`` ImageNet
weights load directly.

Optionally, non-local blocks follow the last bottlenecks of some stages (the ``_nl``
variant of the BPBreID release: 2 blocks in stage 2 and 3 in stage 3); they are new layers,
absent from the ImageNet weights, and start as identities.
"""
from typing import Sequence, Tuple

import torch
from mmcv.cnn import NonLocal2d
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
        non_local_blocks: for each stage, how many non-local blocks follow its last
            bottlenecks (one after each of the last n); ``(0, 2, 3, 0)`` is the release's
            ``resnet_ibn_nl``. Each is an embedded dot-product non-local block (1x1
            projections to half the channels, affinity divided by the number of
            positions, output 1x1 conv + BN initialised to zero, residual). Their weights
            are not expected in pretrained ImageNet checkpoints.
        **kwargs: arguments of :class:`ResNetReID` (``last_stride=1``, ``pretrained``,
            ``init_cfg``, ...). Pretrained weights may be in IBN-Net's release layout
            (torchvision names, ``fc`` dropped) or in this module's own layout.
    """

    def __init__(self,
                 depth: int = 50,
                 ibn_stages: Sequence[bool] = (True, True, True, False),
                 ibn_ratio: float = 0.5,
                 non_local_blocks: Sequence[int] = (0, 0, 0, 0),
                 **kwargs) -> None:
        if depth not in (50, 101, 152):
            raise ValueError(f'ResNetIBN: depth must be 50, 101 or 152 (bottleneck ResNets), '
                             f'got {depth}')
        num_stages = kwargs.get('num_stages', 4)
        if len(ibn_stages) != num_stages:
            raise ValueError(f'ResNetIBN: ibn_stages needs one flag per stage ({num_stages}), '
                             f'got {tuple(ibn_stages)}')
        if len(non_local_blocks) != num_stages or any(n < 0 for n in non_local_blocks):
            raise ValueError(f'ResNetIBN: non_local_blocks needs one count >= 0 per stage '
                             f'({num_stages}), got {tuple(non_local_blocks)}')
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
        self.non_local_blocks = tuple(int(n) for n in non_local_blocks)
        # non_local['<stage>_<block>'] follows block <block> of stage <stage>
        self.non_local = nn.ModuleDict()
        for stage, count in enumerate(self.non_local_blocks):
            blocks = getattr(self, self.res_layers[stage])
            if count > len(blocks):
                raise ValueError(f'ResNetIBN: {count} non-local blocks asked in stage {stage}, '
                                 f'which has {len(blocks)} bottlenecks')
            for index in range(len(blocks) - count, len(blocks)):
                self.non_local[f'{stage}_{index}'] = NonLocal2d(
                    blocks[index].out_channels, reduction=2, use_scale=False,
                    mode='dot_product', norm_cfg=dict(type='BN'), zeros_init=True)
        self._freeze_stages()  # the new IBN layers of frozen stages are frozen too

    def init_weights(self) -> None:
        """Pretrained or default initialisation; the non-local blocks start as identities."""
        super().init_weights()
        for block in self.non_local.values():
            block.init_weights(zeros_init=True)  # the generic BN init set their gate to 1

    @property
    def new_layer_prefixes(self) -> Tuple[str, ...]:
        """Key prefixes of layers that pretrained ImageNet weights do not hold."""
        return ('non_local.', ) if len(self.non_local) else ()

    def _stage_forward(self, stage: int, x: Tensor) -> Tensor:
        """Run the bottlenecks of one stage, with their non-local blocks."""
        blocks = getattr(self, self.res_layers[stage])
        for index, block in enumerate(blocks):
            x = block(x)
            key = f'{stage}_{index}'
            if key in self.non_local:
                x = self.non_local[key](x)
        return x

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """The stem, then every stage; outputs of the stages in ``out_indices``."""
        if not len(self.non_local):
            return super().forward(x)
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for stage in range(len(self.res_layers)):
            x = self._stage_forward(stage, x)
            if stage in self.out_indices:
                outs.append(x)
        return tuple(outs)
