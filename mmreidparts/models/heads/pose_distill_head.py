"""Pose distillation head: teach a part stream the label generator's parts and keypoints.

No pose network can be downloaded on an offline machine, but the project's label
generator (mediapipe pose + person mask) writes, for any Market-format dataset, part
label maps and the COCO keypoints it found. Training a part stream to predict both from
its feature map ``X [N, C, h, w]`` distils the generator's pose model into it:

- part classification: ``conv1x1(X) -> [N, K+1, h, w]`` logits, pixel cross-entropy
  against ``gt_part_map`` brought to the grid (:func:`resize_part_labels`), unlabelled
  and ignored pixels left out;
- keypoint heat-maps: ``conv1x1(X) -> [N, 17, h, w]``, squared error against Gaussian
  maps of ``gt_keypoints`` (:func:`keypoint_heatmaps`) summed over the grid, averaged over
  the keypoints and over the images where a person was found.

Both read-outs are linear, so what they need must be in the stream's features; only the
stream is kept afterwards (``tools/pretrain_part_stream.py``).
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import PixelData
from torch import Tensor, nn

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample, get_part_scheme

from ..utils.keypoint_maps import keypoint_heatmaps
from ..utils.part_maps import LABEL_RESIZES, resize_part_labels


@MODELS.register_module()
class PoseDistillHead(BaseModule):
    """Linear read-outs of part labels and keypoint heat-maps from a part stream's map.

    Args:
        in_channels: channels C of the stream's map.
        num_classes: number of training identities (unused by the losses; kept so that a
            distillation config reads like the others).
        num_parts: K of ``part_scheme``.
        part_scheme: scheme of the part labels (atoms13: the generator's finest labels).
        num_keypoints: keypoints per skeleton (17, COCO).
        heatmap_sigma: width of the target Gaussians, in grid cells.
        part_loss: config of the pixel classification loss (its ``loss_weight`` weighs it).
        heatmap_weight: weight of the heat-map loss.
        label_resize: how the labels reach the grid, see :func:`resize_part_labels`.
        ignore_index: label of unlabelled pixels.
        in_index: which map of the backbone output is read.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int = 1,
                 num_parts: int = 13,
                 part_scheme: str = 'atoms13',
                 num_keypoints: int = 17,
                 heatmap_sigma: float = 1.0,
                 part_loss: dict = dict(type='BodyPartAttentionLoss', label_smoothing=0.0),
                 heatmap_weight: float = 1.0,
                 label_resize: str = 'area',
                 ignore_index: int = 255,
                 in_index: int = -1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        scheme = get_part_scheme(part_scheme)
        if num_parts != scheme.num_parts:
            raise ValueError(f'PoseDistillHead: num_parts={num_parts} but part scheme '
                             f'{part_scheme!r} has K={scheme.num_parts} parts')
        if label_resize not in LABEL_RESIZES:
            raise ValueError(f'PoseDistillHead: label_resize must be one of {LABEL_RESIZES}, '
                             f'got {label_resize!r}')
        if heatmap_sigma <= 0 or heatmap_weight < 0:
            raise ValueError('PoseDistillHead: heatmap_sigma must be > 0 and heatmap_weight '
                             f'>= 0, got {heatmap_sigma} and {heatmap_weight}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_parts = num_parts
        self.part_scheme = part_scheme
        self.num_keypoints = num_keypoints
        self.heatmap_sigma = heatmap_sigma
        self.heatmap_weight = heatmap_weight
        self.label_resize = label_resize
        self.ignore_index = ignore_index
        self.in_index = in_index
        self.return_part_maps = False
        self.part_classifier = nn.Conv2d(in_channels, num_parts + 1, 1)
        self.heatmap_regressor = nn.Conv2d(in_channels, num_keypoints, 1)
        for conv in (self.part_classifier, self.heatmap_regressor):
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)
        self.part_loss = part_loss if isinstance(part_loss, nn.Module) else \
            MODELS.build(part_loss)

    def _select(self, feats: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        """The stream's map ``[N, C, h, w]``, checked."""
        x = feats if isinstance(feats, Tensor) else feats[self.in_index]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'PoseDistillHead expects a map [N, {self.in_channels}, h, w] '
                             f'(in_channels), got {tuple(x.shape)}')
        return x

    def forward(self, feats: Union[Tensor, Sequence[Tensor]]) -> Dict[str, Tensor]:
        """'part_logits' and 'part_maps' ``[N, K+1, h, w]`` (softmax, 0 = background) and
        'heatmaps' ``[N, J, h, w]``."""
        x = self._select(feats)
        logits = self.part_classifier(x)
        return dict(part_logits=logits, part_maps=logits.softmax(dim=1),
                    heatmaps=self.heatmap_regressor(x))

    def loss(self, feats: Union[Tensor, Sequence[Tensor]],
             data_samples: Sequence[ReIDDataSample]) -> Dict[str, Tensor]:
        """'loss_parts', 'loss_heatmaps' and the logged pixel accuracy 'part_acc' (%)."""
        out = self(feats)
        logits, heat = out['part_logits'], out['heatmaps']
        size = tuple(logits.shape[-2:])
        missing = [i for i, s in enumerate(data_samples)
                   if 'gt_part_map' not in s or 'gt_keypoints' not in s]
        if missing:
            raise KeyError(f'PoseDistillHead: data samples {missing[:5]} lack gt_part_map or '
                           'gt_keypoints; load both (LoadPartLabel, LoadKeypoints) in the '
                           'training pipeline')
        maps = torch.stack([s.gt_part_map.data.reshape(s.gt_part_map.shape[-2:])
                            for s in data_samples]).to(logits.device).long()  # [N, H, W]
        input_size = tuple(maps.shape[-2:])
        target = resize_part_labels(maps, size, self.num_parts + 1, self.label_resize,
                                    self.ignore_index)  # [N, h, w]
        kps = torch.stack([s.gt_keypoints.reshape(-1, 3) for s in data_samples]).to(
            heat.device)  # [N, J, 3]
        heat_target = keypoint_heatmaps(kps, size, input_size, self.heatmap_sigma)
        with_person = (kps[..., 2] > 0).any(dim=1)  # [N]
        with torch.autocast(device_type=heat.device.type, enabled=False):
            # squared error summed over the grid, averaged over keypoints (OpenPose's L2)
            err = (heat.float() - heat_target).pow(2).sum(dim=(2, 3)).mean(dim=1)  # [N]
            weight = with_person.float()
            loss_heat = (err * weight).sum() / weight.sum().clamp(min=1)
        losses = dict(loss_parts=self.part_loss(logits, target),
                      loss_heatmaps=self.heatmap_weight * loss_heat)
        with torch.no_grad():
            valid = target != self.ignore_index
            hits = (logits.argmax(dim=1) == target) & valid
            losses['part_acc'] = 100.0 * hits.sum().float() / valid.sum().clamp(min=1).float()
        return losses

    def predict(self, feats: Union[Tensor, Sequence[Tensor]],
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """One embedding per image (the stream's average-pooled map, visibility 1); with
        ``return_part_maps`` also ``pred_part_map`` ``[K+1, h, w]``."""
        x = self._select(feats)
        out = self(x)
        emb = F.normalize(x.float().mean(dim=(2, 3)), dim=1).detach()  # [N, C]
        if data_samples is None:
            data_samples = [ReIDDataSample() for _ in range(emb.shape[0])]
        for i, sample in enumerate(data_samples):
            sample.set_prediction(emb[i:i + 1], emb.new_ones(1), ('part_stream', ))
            if self.return_part_maps:
                sample.pred_part_map = PixelData(data=out['part_maps'][i].detach())
        return list(data_samples)
