"""Part segmentation head of part awareness learning (PAL, Huang et al., TIP 2020).

A small training-only head on a backbone map that predicts pseudo part labels (pal7:
7 parts + background). Its class-balanced loss makes the backbone part-aware; it is a
``ReIDModel`` aux head, so the test graph never runs it. Four layouts (pal.md 2.1; every
hidden layer has ``mid_channels`` outputs, BN + ReLU, no bias; a 1x1 classifier ends it):

- ``'a'``: the 1x1 classifier alone (output stride of the map);
- ``'b'``: 3x3 conv, then the classifier (same stride);
- ``'c'``: 3x3 transposed conv with stride 2 (map size x2), then the classifier (default);
- ``'d'``: two stride-2 transposed convs (map size x4), then the classifier.

On several maps (MGN's three branches) the same head, with one set of weights, runs on
each of them and the losses are averaged.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmengine.structures import PixelData
from torch import Tensor, nn

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample

from ..utils.part_maps import resize_part_labels, stack_part_labels

HEAD_TYPES = ('a', 'b', 'c', 'd')
Feats = Union[Tensor, Sequence[Tensor]]


def _hidden_layer(in_channels: int, out_channels: int, kind: str, std: float) -> nn.Module:
    """A hidden block: ('conv' 3x3 | 'deconv' 3x3 stride 2) without bias, BN, ReLU."""
    if kind == 'conv':
        conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
    else:
        conv = nn.ConvTranspose2d(in_channels, out_channels, 3, stride=2, padding=1,
                                  output_padding=1, bias=False)
    nn.init.normal_(conv.weight, std=std)
    bn = nn.BatchNorm2d(out_channels)
    return nn.Sequential(OrderedDict(conv=conv, bn=bn, relu=nn.ReLU(inplace=True)))


@MODELS.register_module()
class PartSegHead(BaseModule):
    """Part segmentation head with the class-balanced pixel cross-entropy (``loss_ps``).

    Args:
        in_channels: channels of the backbone map (2048 for ResNet-50, 1280 for
            MobileNetV2).
        num_classes: M, parts + background (8 for pal7; 5, 3, 2 for pal4, pal2, pal1).
        head_type: 'a', 'b', 'c' (default) or 'd', see the module docstring.
        mid_channels: channels of the hidden layers.
        in_index: which map(s) of the backbone's output tuple: an int, or a sequence for
            several maps sharing the head (their losses are averaged).
        loss: config of the loss; its ``loss_weight`` is lambda.
        ignore_index: label of pixels without supervision.
        init_std: std of the normal initialisation of every conv (the classifier's bias
            starts at 0).
        init_cfg: mmengine initialisation config (the layers are initialised when built).
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int = 8,
                 head_type: str = 'c',
                 mid_channels: int = 256,
                 in_index: Union[int, Sequence[int]] = -1,
                 loss: dict = dict(type='PartSegLoss', class_balanced=True, loss_weight=1.0),
                 ignore_index: int = 255,
                 init_std: float = 0.001,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if head_type not in HEAD_TYPES:
            raise ValueError(f'PartSegHead head_type must be one of {HEAD_TYPES}, got '
                             f'{head_type!r}')
        if in_channels <= 0 or num_classes < 2:
            raise ValueError(f'PartSegHead needs in_channels > 0 and num_classes >= 2 (parts '
                             f'+ background), got {in_channels} and {num_classes}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.head_type = head_type
        self.in_indices: Tuple[int, ...] = ((in_index, ) if isinstance(in_index, int)
                                            else tuple(in_index))
        if not self.in_indices:
            raise ValueError('PartSegHead in_index must name at least one backbone output')
        self.ignore_index = ignore_index
        kinds = dict(a=(), b=('conv', ), c=('deconv', ), d=('deconv', 'deconv'))[head_type]
        layers, channels = [], in_channels
        for kind in kinds:
            layers.append(_hidden_layer(channels, mid_channels, kind, init_std))
            channels = mid_channels
        self.hidden = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(channels, num_classes, 1)
        nn.init.normal_(self.classifier.weight, std=init_std)
        nn.init.zeros_(self.classifier.bias)
        self.loss_ps = MODELS.build(loss)
        self.upsample = 2**kinds.count('deconv')  # output map size / input map size

    def _maps(self, feats: Feats) -> List[Tensor]:
        """The backbone maps ``[N, C, h, w]`` the head runs on."""
        if isinstance(feats, Tensor):
            feats = (feats, )
        maps = []
        for index in self.in_indices:
            x = feats[index]
            if x.dim() != 4 or x.shape[1] != self.in_channels:
                raise ValueError(f'PartSegHead(in_channels={self.in_channels}) got backbone '
                                 f'output {index} of shape {tuple(x.shape)}; set '
                                 'model.aux_heads.<name>.in_channels to its channels')
            maps.append(x)
        return maps

    def part_logits(self, x: Tensor) -> Tensor:
        """Part logits ``[N, M, h * u, w * u]`` of one map ``[N, C, h, w]`` (u = 1, 2, 4)."""
        return self.classifier(self.hidden(x))

    def forward(self, feats: Feats) -> Dict[str, Union[Tensor, Tuple[Tensor, ...]]]:
        """Part logits of every map, and the part probability maps (part maps contract).

        Returns:
            dict with 'part_logits', a tuple of ``[N, M, H, W]`` (one per map), and
            'part_maps' ``[N, M, H, W]``: the softmax over classes (channel 0 =
            background), averaged over the maps.
        """
        logits = tuple(self.part_logits(x) for x in self._maps(feats))
        maps = torch.stack([lg.float().softmax(dim=1) for lg in logits]).mean(dim=0)
        return dict(part_logits=logits, part_maps=maps)

    def part_targets(self, data_samples: Sequence[ReIDDataSample], size: Tuple[int, int],
                     device: torch.device) -> Tensor:
        """Stack the samples' ``gt_part_map`` and nearest-resize them to ``size``: ``[N, h, w]``.

        A label outside ``0..num_classes-1`` (other than the ignore index) stops with the
        image it belongs to.
        """
        labels = stack_part_labels(
            data_samples, device, 'PartSegHead', 'the part segmentation loss needs part '
            'labels (LoadPartLabel in the training pipeline and part_labels in the dataset)')
        labelled = labels.masked_fill(labels == self.ignore_index, 0)
        bad = (labelled < 0) | (labelled >= self.num_classes)  # [N, H, W]
        if bool(bad.any()):
            i = int(bad.flatten(1).any(dim=1).nonzero()[0])
            value = int(labels[i][bad[i]][0])
            path = data_samples[i].metainfo.get('img_path', f'data sample {i}')
            raise ValueError(
                f'PartSegHead(num_classes={self.num_classes}): the part labels of {path} hold '
                f'the class id {value}; valid ids are 0..{self.num_classes - 1} and '
                f'{self.ignore_index} (ignored). Set model.aux_heads.<name>.num_classes to K+1 '
                'of the part scheme of the labels (8 for pal7)')
        return resize_part_labels(labels, size, self.num_classes, 'nearest', self.ignore_index)

    def loss(self, feats: Feats, data_samples: Sequence[ReIDDataSample]) -> Dict[str, Tensor]:
        """'loss_ps' (mean over the maps of the class-balanced CE) and 'acc_ps' (percent)."""
        logits = [self.part_logits(x) for x in self._maps(feats)]
        target = self.part_targets(data_samples, logits[0].shape[-2:], logits[0].device)
        loss = torch.stack([self.loss_ps(lg, target) for lg in logits]).mean()
        with torch.no_grad():
            valid = target != self.ignore_index
            hits = (logits[0].argmax(dim=1) == target) & valid
            acc = hits.sum().float() / valid.sum().clamp(min=1) * 100
        return dict(loss_ps=loss, acc_ps=acc)

    def predict(self, feats: Feats,
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """Store the part probability maps as ``pred_part_map`` (``[M, H, W]``) of each sample.

        Not part of the re-identification test graph: only for parsing evaluation and
        visualisation, when asked for.
        """
        maps = self(feats)['part_maps'].detach()  # [N, M, H, W]
        if data_samples is None:
            data_samples = [ReIDDataSample() for _ in range(maps.shape[0])]
        if len(data_samples) != maps.shape[0]:
            raise ValueError(f'PartSegHead.predict: {len(data_samples)} data samples for '
                             f'{maps.shape[0]} images')
        for sample, part_map in zip(data_samples, maps):
            sample.pred_part_map = PixelData(data=part_map)
        return list(data_samples)
