"""BPBreID head: body part attention, global-local pooling, BNNeck classifiers, GiLt losses.

From a backbone map ``G [N, C, Hf, Wf]`` the head computes

- ``M = softmax(conv1x1(BN(G)))`` ``[N, K+1, Hf, Wf]``: channel 0 background, 1..K parts,
- ``f_g = GAP(G)``, ``f_f = GWAP(G, max_k M_k)``, ``f_k = GWAP(G, M_k)``, each optionally
  reduced (Linear-BN-ReLU; one layer shared by all parts), ``f_c = concat(f_1..f_K)``,
- binary part visibility (``max M_k > 0.4``, or "part k is the argmax somewhere"),

and trains with ``L = lambda_pa * L_pa + L_GiLt``: the pixel part classification loss against
``gt_part_map`` plus, per embedding, the identity (BNNeck + CE) and triplet terms of a
weight table (GiLt: identity on global, foreground and concatenated embeddings, the
part-averaged triplet on the parts). At test time every image gets the embeddings
(foreground, part 1..K) with visibility (1, v_1..v_K).
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample, fill_predictions, get_part_scheme

from ..utils.embedding import BNNeck, dim_reduction
from ..utils.part_maps import (
    LABEL_RESIZES,
    VISIBILITY_MODES,
    build_pixel_classifier,
    part_targets,
    part_visibility,
    pixel_logits,
    resize_part_labels,
)
from ..utils.pooling import masked_average_pool, pool_by_masks, weighted_average_pool
from .bnneck_head import gather_labels

EMBEDDING_KEYS = ('global', 'foreground', 'concat', 'parts')
GILT_WEIGHTS = {
    'global': dict(id=1.0, tri=0.0),
    'foreground': dict(id=1.0, tri=0.0),
    'concat': dict(id=1.0, tri=0.0),
    'parts': dict(id=0.0, tri=1.0),
}
FG_POOLINGS = ('gwap', 'masked_gap')
TEST_FOREGROUNDS = ('bn', 'pre_bn')
LossCfg = Union[dict, nn.Module]
# re-exported: the shared pooling and part-map helpers lived here first
__all__ = ['BPBreIDHead', 'BNNeck', 'pool_by_masks', 'weighted_average_pool',
           'masked_average_pool', 'part_visibility', 'resize_part_labels']


def _check_gilt(weights: Optional[dict]) -> Dict[str, Dict[str, float]]:
    """Validate a GiLt weight table, keys 'global', 'foreground', 'concat', 'parts'."""
    if weights is None:
        return copy.deepcopy(GILT_WEIGHTS)
    if not isinstance(weights, dict) or set(weights) != set(EMBEDDING_KEYS):
        got = sorted(weights) if isinstance(weights, dict) else type(weights).__name__
        raise ValueError(f'gilt_weights must be a dict with exactly the keys {EMBEDDING_KEYS}, '
                         f'each dict(id=..., tri=...); got {got}')
    out = {}
    for key in EMBEDDING_KEYS:
        entry = weights[key]
        if not isinstance(entry, dict) or set(entry) != {'id', 'tri'}:
            raise ValueError(f'gilt_weights[{key!r}] must be dict(id=<float>, tri=<float>), '
                             f'got {entry!r}')
        if entry['id'] < 0 or entry['tri'] < 0:
            raise ValueError(f'gilt_weights[{key!r}] must be non-negative, got {entry!r}')
        out[key] = dict(id=float(entry['id']), tri=float(entry['tri']))
    return out


def _build_loss(cfg: LossCfg) -> nn.Module:
    """Build a loss from a config dict (an ``nn.Module`` is used as is)."""
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


@MODELS.register_module()
class BPBreIDHead(BaseModule):
    """Body part-based re-identification head (BPBreID) with the GiLt loss table.

    Args:
        in_channels: channels C of the backbone map.
        num_classes: number of training identities.
        num_parts: K, the number of body parts; must equal the part scheme's K.
        part_scheme: name of the part scheme (``mmreidparts.structures.part_schemes``)
            of the labels; gives the part names of the predicted embeddings.
        in_index: which map of the backbone's output tuple is used.
        dim_reduce: embedding size D after the Linear-BN-ReLU reduction (512 in the
            release), or None to keep D = C (the paper).
        fg_pooling: 'gwap' (paper: weighted average by the foreground map) or
            'masked_gap' (release: sum of the masked map divided by Hf * Wf).
        visibility_mode: 'threshold' (paper) or 'argmax' (release).
        visibility_threshold: lambda_v; a part is visible iff its max probability is
            strictly above it.
        gilt_weights: ``{'global': dict(id=, tri=), 'foreground': ..., 'concat': ...,
            'parts': ...}``, the weight of the identity and triplet losses of each
            embedding (None = GiLt: id 1 on global, foreground, concat; tri 1 on parts).
            The parts' triplet is part-averaged, their identity loss is the mean of one
            BNNeck classifier per part.
        pa_loss: the body part attention loss; its ``loss_weight`` is lambda_pa (0.35).
        id_loss: the identity loss on BNNeck logits.
        triplet_loss: the triplet loss of the holistic embeddings (pre-BN features).
        part_triplet_loss: the triplet loss of the part embeddings ``[N, K, D]``.
        label_resize: how ``gt_part_map`` (input resolution) is brought to the feature
            map: 'bilinear' (release-like, default), 'area' or 'nearest'; see
            :func:`resize_part_labels`.
        ignore_index: label of pixels without supervision.
        test_foreground: 'bn' (release: the BNNeck output) or 'pre_bn' foreground
            embedding at test time.
        test_normalize: L2-normalise each test embedding (release default).
        init_cfg: mmengine initialisation config; the layers are already initialised as
            in the release when built.
    """

    visibility_type = 'binary'  # parts visible or not

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 num_parts: int = 8,
                 part_scheme: str = 'bpbreid8',
                 in_index: int = -1,
                 dim_reduce: Optional[int] = 512,
                 fg_pooling: str = 'gwap',
                 visibility_mode: str = 'threshold',
                 visibility_threshold: float = 0.4,
                 gilt_weights: Optional[dict] = None,
                 pa_loss: LossCfg = dict(
                     type='BodyPartAttentionLoss', label_smoothing=0.1, loss_weight=0.35),
                 id_loss: LossCfg = dict(type='CrossEntropyLoss', label_smoothing=0.1),
                 triplet_loss: LossCfg = dict(type='TripletLoss', margin=0.3),
                 part_triplet_loss: LossCfg = dict(type='PartAveragedTripletLoss', margin=0.3),
                 label_resize: str = 'bilinear',
                 ignore_index: int = 255,
                 test_foreground: str = 'bn',
                 test_normalize: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        scheme = get_part_scheme(part_scheme)
        if num_parts != scheme.num_parts:
            raise ValueError(f'BPBreIDHead: num_parts={num_parts} but part scheme '
                             f'{part_scheme!r} has K={scheme.num_parts} parts {scheme.names}')
        for name, value, allowed in (('fg_pooling', fg_pooling, FG_POOLINGS),
                                     ('visibility_mode', visibility_mode, VISIBILITY_MODES),
                                     ('label_resize', label_resize, LABEL_RESIZES),
                                     ('test_foreground', test_foreground, TEST_FOREGROUNDS)):
            if value not in allowed:
                raise ValueError(f'BPBreIDHead: {name} must be one of {allowed}, got {value!r}')
        if dim_reduce is not None and dim_reduce <= 0:
            raise ValueError(f'BPBreIDHead: dim_reduce must be a positive int or None, '
                             f'got {dim_reduce}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_parts = num_parts
        self.part_scheme = part_scheme
        self.part_names: Tuple[str, ...] = scheme.names
        self.in_index = in_index
        self.embed_dim = dim_reduce or in_channels
        self.fg_pooling = fg_pooling
        self.visibility_mode = visibility_mode
        self.visibility_threshold = visibility_threshold
        self.gilt_weights = _check_gilt(gilt_weights)
        self.label_resize = label_resize
        self.ignore_index = ignore_index
        self.test_foreground = test_foreground
        self.test_normalize = test_normalize

        # pixel-wise part classifier: BN2d -> 1x1 conv to K+1 classes (0 = background)
        self.pixel_classifier = build_pixel_classifier(in_channels, num_parts + 1)

        self.global_reduce = dim_reduction(in_channels, dim_reduce)
        self.foreground_reduce = dim_reduction(in_channels, dim_reduce)
        self.parts_reduce = dim_reduction(in_channels, dim_reduce)  # shared by all parts

        dim = self.embed_dim
        w = self.gilt_weights
        self.global_bnneck = BNNeck(dim, num_classes) if w['global']['id'] > 0 else None
        self.foreground_bnneck = BNNeck(dim, num_classes)  # its BN also serves at test time
        self.concat_bnneck = (BNNeck(dim * num_parts, num_classes)
                              if w['concat']['id'] > 0 else None)
        self.parts_bnnecks = (nn.ModuleList(BNNeck(dim, num_classes) for _ in range(num_parts))
                              if w['parts']['id'] > 0 else None)

        self.pa_loss = _build_loss(pa_loss)
        self.id_loss = _build_loss(id_loss)
        self.triplet_loss = _build_loss(triplet_loss)
        self.part_triplet_loss = _build_loss(part_triplet_loss)

    def pixel_logits(self, x: Tensor) -> Tensor:
        """Part classification logits ``[N, K+1, Hf, Wf]`` of the map ``x [N, C, Hf, Wf]``.

        ``conv1x1(BN(x))``, computed as one matrix product (:func:`pixel_logits`).
        """
        return pixel_logits(self.pixel_classifier.bn(x), self.pixel_classifier.conv)

    def _select(self, feats: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        """Pick the backbone map ``[N, C, Hf, Wf]`` the head works on."""
        x = feats if isinstance(feats, Tensor) else feats[self.in_index]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'BPBreIDHead expects a feature map [N, {self.in_channels}, Hf, '
                             f'Wf] (in_channels={self.in_channels}), got {tuple(x.shape)}')
        return x

    def forward(self, feats: Union[Tensor, Sequence[Tensor]]) -> Dict[str, Tensor]:
        """Attention maps, visibility and embeddings of a batch.

        Returns:
            dict with 'part_logits' and 'part_maps' ``[N, K+1, Hf, Wf]`` (softmax over
            channels, 0 = background), 'foreground_map' ``[N, Hf, Wf]``, 'visibility'
            ``[N, K]`` bool, 'global' and 'foreground' ``[N, D]``, 'parts' ``[N, K, D]``,
            'concat' ``[N, K*D]`` (pre-BN) and 'bn_foreground' ``[N, D]``.
        """
        x = self._select(feats)  # [N, C, Hf, Wf]
        num = x.shape[0]
        logits = self.pixel_logits(x)  # [N, K+1, Hf, Wf]
        maps = logits.softmax(dim=1)  # [N, K+1, Hf, Wf]
        part_maps = maps[:, 1:]  # [N, K, Hf, Wf]
        fg_map = part_maps.amax(dim=1, keepdim=True)  # [N, 1, Hf, Wf]

        # GAP, foreground and part pooling in one batched product (one gradient into x)
        pooled = pool_by_masks(x, torch.cat([fg_map, part_maps], dim=1), with_mean=True)
        f_global = pooled[:, 0]  # [N, C]
        if self.fg_pooling == 'gwap':
            f_fg = pooled[:, 1] / fg_map.sum(dim=(2, 3)).clamp(min=1e-6)  # [N, C]
        else:
            f_fg = pooled[:, 1] / (x.shape[2] * x.shape[3])  # [N, C]
        part_mass = part_maps.sum(dim=(2, 3)).clamp(min=1e-6)  # [N, K]
        f_parts = pooled[:, 2:] / part_mass[..., None]  # [N, K, C]

        f_global = self.global_reduce(f_global)  # [N, D]
        f_fg = self.foreground_reduce(f_fg)  # [N, D]
        f_parts = self.parts_reduce(f_parts.flatten(0, 1)).view(num, self.num_parts, -1)
        bn_fg, _ = self.foreground_bnneck(f_fg)  # [N, D]
        return {
            'part_logits': logits,
            'part_maps': maps,
            'foreground_map': fg_map[:, 0],
            'visibility': part_visibility(maps, self.visibility_mode, self.visibility_threshold),
            'global': f_global,
            'foreground': f_fg,
            'parts': f_parts,  # [N, K, D]
            'concat': f_parts.flatten(1),  # [N, K*D], parts in order
            'bn_foreground': bn_fg,
        }

    def part_targets(self, data_samples: Sequence[ReIDDataSample], size: Tuple[int, int],
                     device: torch.device) -> Tensor:
        """Stack the samples' ``gt_part_map`` and bring them to the feature size ``[N, h, w]``."""
        return part_targets(
            data_samples, self.num_parts, size, device, 'BPBreIDHead', self.part_scheme,
            'the body part attention loss needs part labels (load them in the training '
            'pipeline, or set the pa_loss loss_weight to 0)', self.label_resize,
            self.ignore_index)

    def loss(self, feats: Union[Tensor, Sequence[Tensor]],
             data_samples: Sequence[ReIDDataSample]) -> Dict[str, Tensor]:
        """Training losses: 'loss_pa' and the non-zero terms of the GiLt weight table."""
        out = self(feats)
        device = out['part_logits'].device
        labels = gather_labels(data_samples, self.num_classes, device)  # [N]
        losses: Dict[str, Tensor] = {}
        if getattr(self.pa_loss, 'loss_weight', 1.0) != 0:
            target = self.part_targets(data_samples, out['part_logits'].shape[-2:], device)
            losses['loss_pa'] = self.pa_loss(out['part_logits'], target)

        necks = dict(zip(('global', 'foreground', 'concat'),
                         (self.global_bnneck, self.foreground_bnneck, self.concat_bnneck)))
        for key, neck in necks.items():
            weights = self.gilt_weights[key]
            if weights['id'] > 0:
                _, logits = neck(out[key])
                losses[f'loss_id_{key}'] = weights['id'] * self.id_loss(logits, labels)
            if weights['tri'] > 0:
                losses[f'loss_tri_{key}'] = weights['tri'] * self.triplet_loss(out[key], labels)

        weights = self.gilt_weights['parts']
        if weights['id'] > 0:
            part_losses = [self.id_loss(neck(out['parts'][:, k])[1], labels)
                           for k, neck in enumerate(self.parts_bnnecks)]
            losses['loss_id_parts'] = weights['id'] * torch.stack(part_losses).mean()
        if weights['tri'] > 0:
            losses['loss_tri_parts'] = weights['tri'] * self.part_triplet_loss(
                out['parts'], labels)
        return losses

    @property
    def embedding_names(self) -> Tuple[str, ...]:
        """Names of the test embeddings: 'foreground', then the K part names."""
        return ('foreground', ) + tuple(self.part_names)

    def predict_tensors(self, feats: Union[Tensor, Sequence[Tensor]]) -> Tuple[Tensor, Tensor]:
        """Test embeddings ``[N, 1+K, D]`` (foreground, parts) and visibility ``[N, 1+K]``."""
        out = self(feats)
        fg = out['bn_foreground'] if self.test_foreground == 'bn' else out['foreground']
        embeddings = torch.cat([fg[:, None], out['parts']], dim=1)  # [N, 1+K, D]
        if self.test_normalize:
            embeddings = F.normalize(embeddings, dim=2)
        ones = embeddings.new_ones(embeddings.shape[0], 1)
        visibility = torch.cat([ones, out['visibility'].to(embeddings.dtype)], dim=1)  # [N, 1+K]
        return embeddings, visibility

    def predict(self, feats: Union[Tensor, Sequence[Tensor]],
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """Fill each sample with embeddings ``[1+K, D]`` (foreground, parts) and visibility."""
        embeddings, visibility = self.predict_tensors(feats)
        return fill_predictions(data_samples, embeddings, visibility, self.embedding_names,
                                type(self).__name__)
