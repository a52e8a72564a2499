"""The OpenPose COCO body network (Cao et al., CVPR 2017) up to stage 2, Caffe layer names.

VGG-19 conv1_1 .. conv4_2 (three 2x2 max-pools, stride 8) -> conv4_3_CPM (256) ->
conv4_4_CPM (128) = F; stage 1: two branches on F, 3 x [3x3, 128] -> 1x1 512 -> 1x1 out
(38 part affinity fields L1, 19 joint heat-maps L2); stage 2: two branches on
``concat(L1, L2, F)`` (185 channels), 5 x [7x7, 128] -> 1x1 128 -> 1x1 out. The output is
OpenPose's "concat_stage3" ``concat(L1_2 38, L2_2 19, F 128)`` = 185 channels at stride
8 (20x10 for a 160x80 image). ReLU after every convolution except the branch outputs.
Module names are the Caffe layer names, so converted CMU weights load by name.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from ..utils.caffe_layouts import convert_openpose
from ..utils.checkpoint import load_converted_weights

# (name, in, out, kernel) of the VGG-19 + CPM feature layers; 'pool' marks a 2x2 max-pool
VGG_SPEC = (
    ('conv1_1', 3, 64, 3), ('conv1_2', 64, 64, 3), 'pool',
    ('conv2_1', 64, 128, 3), ('conv2_2', 128, 128, 3), 'pool',
    ('conv3_1', 128, 256, 3), ('conv3_2', 256, 256, 3), ('conv3_3', 256, 256, 3),
    ('conv3_4', 256, 256, 3), 'pool',
    ('conv4_1', 256, 512, 3), ('conv4_2', 512, 512, 3),
    ('conv4_3_CPM', 512, 256, 3), ('conv4_4_CPM', 256, 128, 3),
)
NUM_PAF = 38  # 19 limbs x (x, y)
NUM_HEATMAPS = 19  # 18 COCO joints + background
NUM_FEATURES = 128
# output channel groups of concat_stage3, in order
CHANNEL_GROUPS = {'limb': (0, NUM_PAF), 'joint': (NUM_PAF, NUM_PAF + NUM_HEATMAPS),
                  'internal': (NUM_PAF + NUM_HEATMAPS, NUM_PAF + NUM_HEATMAPS + NUM_FEATURES)}


def _conv(cin: int, cout: int, kernel: int) -> nn.Conv2d:
    """A stride-1 'same' convolution."""
    return nn.Conv2d(cin, cout, kernel, padding=kernel // 2)


@MODELS.register_module()
class OpenPoseTrunk(BaseModule):
    """OpenPose COCO body model to the end of stage 2; returns the 185-channel concat.

    The input is the image as OpenPose expects it (BGR / 256 - 0.5: ``InputNorm('openpose')``;
    the release feeds ``InputNorm('release_pose')``).

    Args:
        channels: which groups of concat_stage3 to return, a subset of ('limb', 'joint',
            'internal') in that order (38, 19 and 128 channels; the paper's Table 1
            ablation); default all three (185).
        pretrained: path or URL of CMU OpenPose COCO weights with Caffe layer names
            (:func:`mmreidparts.models.utils.caffe_layouts.convert_openpose`), also the
            ``part_state_dict`` of the part-aligned bilinear release; None = random init.
        init_cfg: mmengine initialisation config (without ``pretrained``).
    """

    def __init__(self, channels: Sequence[str] = ('limb', 'joint', 'internal'),
                 pretrained: Optional[str] = None, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        channels = tuple(channels)
        order = tuple(CHANNEL_GROUPS)
        if not channels or any(c not in CHANNEL_GROUPS for c in channels) or \
                list(channels) != sorted(set(channels), key=order.index):
            raise ValueError(f'OpenPoseTrunk channels must be a non-empty subset of {order} '
                             f'in that order, got {channels}')
        self.channels = channels
        self.pretrained = pretrained
        self.vgg_names = []
        for spec in VGG_SPEC:
            if spec == 'pool':
                self.vgg_names.append('pool')
                continue
            name, cin, cout, k = spec
            self.add_module(name, _conv(cin, cout, k))
            self.vgg_names.append(name)
        for b, out in ((1, NUM_PAF), (2, NUM_HEATMAPS)):
            for i in range(1, 4):
                self.add_module(f'conv5_{i}_CPM_L{b}', _conv(NUM_FEATURES, 128, 3))
            self.add_module(f'conv5_4_CPM_L{b}', _conv(128, 512, 1))
            self.add_module(f'conv5_5_CPM_L{b}', _conv(512, out, 1))
            cin = NUM_PAF + NUM_HEATMAPS + NUM_FEATURES
            for i in range(1, 6):
                self.add_module(f'Mconv{i}_stage2_L{b}', _conv(cin if i == 1 else 128, 128, 7))
            self.add_module(f'Mconv6_stage2_L{b}', _conv(128, 128, 1))
            self.add_module(f'Mconv7_stage2_L{b}', _conv(128, out, 1))
        self.out_channels = sum(CHANNEL_GROUPS[c][1] - CHANNEL_GROUPS[c][0] for c in channels)

    def init_weights(self) -> None:
        """Load ``pretrained`` (Caffe layer names), or run the default init."""
        if self.pretrained is None:
            super().init_weights()
            return
        load_converted_weights(self, self.pretrained, convert_openpose)
        self._is_init = True

    def _branch(self, x: Tensor, names: Sequence[str]) -> Tensor:
        """Convolutions with a ReLU after each but the last."""
        for i, name in enumerate(names):
            x = getattr(self, name)(x)
            if i < len(names) - 1:
                x = F.relu(x)
        return x

    def stages(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Stage-2 part affinity fields ``[N, 38, h, w]``, heat-maps ``[N, 19, h, w]``, F."""
        for name in self.vgg_names:
            x = F.max_pool2d(x, 2, 2, ceil_mode=True) if name == 'pool' else \
                F.relu(getattr(self, name)(x))
        feat = x  # [N, 128, H / 8, W / 8]
        stage1 = [self._branch(feat, [f'conv5_{i}_CPM_L{b}' for i in range(1, 6)])
                  for b in (1, 2)]
        x = torch.cat(stage1 + [feat], dim=1)  # [N, 185, h, w]
        paf, heat = (self._branch(x, [f'Mconv{i}_stage2_L{b}' for i in range(1, 8)])
                     for b in (1, 2))
        return paf, heat, feat

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """``[N, 3, H, W]`` -> ``([N, C, H / 8, W / 8], )``, C = 185 with all groups."""
        paf, heat, feat = self.stages(x)
        groups = dict(limb=paf, joint=heat, internal=feat)
        return (torch.cat([groups[c] for c in self.channels], dim=1), )
