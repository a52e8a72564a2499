"""BVLC GoogLeNet (Inception-V1, Szegedy et al. 2015) up to inception_4e, Caffe layout.

The Caffe network, not torchvision's re-design: no BatchNorm, local response
normalisation after the first two stages, true 5x5 convolutions in the third branch,
ceil-mode pooling. A 160x80 image gives a 10x5 map of 832 channels (stride 16); with
``dilation=2`` the max-pool between inception_3b and 4a is removed and inception_4a-4e
are dilated, for a 20x10 map (stride 8).
"""
from collections import OrderedDict
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from ..utils.caffe_layouts import INCEPTION_SPECS, convert_googlenet
from ..utils.checkpoint import load_converted_weights

BRANCH_POOLS = ('enlarge', 'dilate')


class InceptionBlock(nn.Module):
    """An inception module: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max-pool -> 1x1, concatenated.

    Args:
        in_channels: input channels.
        channels: ``(1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj)`` output channels.
        dilation: dilation of the 3x3 and 5x5 convolutions (padding grows with it).
        branch_pool: how the 3x3 branch pool follows a dilation: 'enlarge' (a
            ``2 d + 1`` kernel, stride 1, padding d: the release) or 'dilate' (a 3x3 kernel
            with dilation d).
    """

    def __init__(self, in_channels: int, channels: Tuple[int, ...], dilation: int = 1,
                 branch_pool: str = 'enlarge') -> None:
        super().__init__()
        c1, c3r, c3, c5r, c5, cp = channels
        d = dilation
        self.conv_1x1 = nn.Conv2d(in_channels, c1, 1)
        self.conv_3x3_reduce = nn.Conv2d(in_channels, c3r, 1)
        self.conv_3x3 = nn.Conv2d(c3r, c3, 3, padding=d, dilation=d)
        self.conv_5x5_reduce = nn.Conv2d(in_channels, c5r, 1)
        self.conv_5x5 = nn.Conv2d(c5r, c5, 5, padding=2 * d, dilation=d)
        if branch_pool == 'enlarge':
            self.pool = nn.MaxPool2d(2 * d + 1, stride=1, padding=d)
        else:
            self.pool = nn.MaxPool2d(3, stride=1, padding=d, dilation=d)
        self.pool_proj = nn.Conv2d(in_channels, cp, 1)
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x: Tensor) -> Tensor:
        """``[N, C_in, h, w]`` -> ``[N, C_out, h, w]``."""
        return torch.cat([
            F.relu(self.conv_1x1(x)),
            F.relu(self.conv_3x3(F.relu(self.conv_3x3_reduce(x)))),
            F.relu(self.conv_5x5(F.relu(self.conv_5x5_reduce(x)))),
            F.relu(self.pool_proj(self.pool(x))),
        ], dim=1)


@MODELS.register_module()
class GoogLeNetBVLC(BaseModule):
    """BVLC GoogLeNet from the input to inception_4e (832 channels).

    conv1 7x7/2 -> max-pool 3x3/2 -> LRN -> conv2 1x1 -> conv2 3x3 -> LRN -> max-pool 3x3/2
    -> inception 3a, 3b -> max-pool 3x3/2 (not with dilation) -> inception 4a-4e. The
    input is the image as the Caffe model expects it: BGR, 0-255, minus (104, 117, 123)
    (``InputNorm('bvlc')`` in a two-stream model).

    Args:
        dilation: 1 (stride 16) or 2 (stride 8: no pool before 4a, 4a-4e dilated).
        branch_pool: the branch max-pool of the dilated modules, see :class:`InceptionBlock`.
        pretrained: path or URL of BVLC GoogLeNet weights in a layout of
            :func:`mmreidparts.models.utils.caffe_layouts.convert_googlenet` (Caffe names,
            the part-aligned bilinear release, or this module's own); None = random init.
        init_cfg: mmengine initialisation config (without ``pretrained``).
    """

    def __init__(self, dilation: int = 1, branch_pool: str = 'enlarge',
                 pretrained: Optional[str] = None, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if dilation not in (1, 2):
            raise ValueError(f'GoogLeNetBVLC dilation must be 1 or 2, got {dilation}')
        if branch_pool not in BRANCH_POOLS:
            raise ValueError(f'GoogLeNetBVLC branch_pool must be one of {BRANCH_POOLS}, '
                             f'got {branch_pool!r}')
        self.dilation = dilation
        self.branch_pool = branch_pool
        self.pretrained = pretrained
        self.conv1_7x7_s2 = nn.Conv2d(3, 64, 7, stride=2, padding=3)
        self.pool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.norm1 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.conv2_3x3_reduce = nn.Conv2d(64, 64, 1)
        self.conv2_3x3 = nn.Conv2d(64, 192, 3, padding=1)
        self.norm2 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.pool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.pool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True) if dilation == 1 else None
        blocks = OrderedDict()
        channels = 192
        for name, spec in INCEPTION_SPECS:
            d = dilation if name.startswith('4') else 1
            blocks[name] = InceptionBlock(channels, spec, d, branch_pool)
            channels = blocks[name].out_channels
        for name, block in blocks.items():
            self.add_module(f'inception_{name}', block)
        self.stage_names = tuple(f'inception_{name}' for name in blocks)
        self.out_channels = channels  # 832

    def init_weights(self) -> None:
        """Load ``pretrained`` (converted to this layout), or run the default init."""
        if self.pretrained is None:
            super().init_weights()
            return
        load_converted_weights(self, self.pretrained, convert_googlenet)
        self._is_init = True

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """``[N, 3, H, W]`` -> ``([N, 832, H / 16, W / 16], )`` (H / 8 with dilation)."""
        x = self.norm1(self.pool1(F.relu(self.conv1_7x7_s2(x))))
        x = F.relu(self.conv2_3x3(F.relu(self.conv2_3x3_reduce(x))))
        x = self.pool2(self.norm2(x))
        for name in self.stage_names:
            if name == 'inception_4a' and self.pool3 is not None:
                x = self.pool3(x)
            x = getattr(self, name)(x)
        return (x, )
