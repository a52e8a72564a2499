"""DROP head: decoupled re-identification and human parsing features (Dou et al., 2024).

From the backbone stages ``S_1..S_L`` (shallow first) the head builds two task-specific maps:

- ``P_reid`` for re-identification: ``concat(S_1, UP(S_2), ..., UP(S_L))`` at the S_1
  size ('concat', HRNet-W32: 1920 channels), or the last stage upsampled to the S_1 size
  ('last', ResNet-50: 2048 channels). Position information never reaches it.
- ``P_hp`` for parsing: the detail-preserving upsampling (DPU) of all stages to ``C_hp``
  channels, plus the pedestrian position embedding (PPE, 1D rows by default), then
  ``BN + conv1x1`` to K+1 parsing logits; ``hp = softmax`` (channel 0 = background).

The parsing maps guide the pooling of ``P_reid`` (WAMP: weighted average + weighted max,
summed, then Linear-BN-ReLU): global ``g = FC(GAP(P_reid))``, foreground (mask
``max_k hp_k``) and K parts (one FC shared by the parts). Training: identity losses
(BNNeck + label-smoothed CE) on g, f and the concatenated parts, the part triplet loss on
the parts (PCT over a memory bank by default; the Table 5 variants by config) and the
spatially smoothed parsing loss (lambda 0.4). Test: foreground (BN) + parts, each
L2-normalised, part visibility ``max_hw hp_k > 0.4``: the contract of
:class:`BPBreIDHead` (``forward()['part_maps']``, ``embedding_names``,
``predict_tensors``, ``predict``). Defaults follow drop.md 8.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample, fill_predictions, get_part_scheme

from ..utils.detail_upsampling import DetailPreservingUpsampling
from ..utils.embedding import BNNeck, dim_reduction
from ..utils.multi_scale import resize_concat, resize_to
from ..utils.part_maps import (
    LABEL_RESIZES,
    build_pixel_classifier,
    part_targets,
    part_visibility,
    pixel_logits,
)
from ..utils.pooling import pool_by_masks, pool_by_masks_and_max
from ..utils.position_encoding import POSITION_MODES, PedestrianPositionEncoder
from .bnneck_head import gather_labels

REID_MAPS = ('concat', 'last')
WAMP_MODES = ('sum', 'concat', 'avg')
TRAIN_VISIBILITIES = ('label', 'pred', 'none')
TEST_EMBEDDINGS = ('global', 'foreground', 'parts')
TEST_FOREGROUNDS = ('bn', 'pre_bn')
ID_KEYS = ('global', 'foreground', 'concat')
LossCfg = Union[dict, nn.Module]
PCT_TYPE = 'PartCompactnessTripletLoss'
LABEL_HINT = ('DROP trains its parsing branch on part labels: configure '
              'train_dataloader.dataset.part_labels=dict(scheme=..., label_dir=...) and put '
              'LoadPartLabel in the training pipeline')


def _build_loss(cfg: LossCfg) -> nn.Module:
    """Build a loss from a config dict (an ``nn.Module`` is used as is)."""
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


@MODELS.register_module()
class DROPHead(BaseModule):
    """DROP: parsing-guided part embeddings on decoupled ReID / parsing maps.

    Args:
        in_channels: channels of the backbone stages used, shallow to deep
            (HRNet-W32: (128, 256, 512, 1024); ResNet-50: (256, 512, 1024, 2048)).
        num_classes: number of training identities.
        num_parts: K; must equal the part scheme's K.
        part_scheme: the part scheme of the labels (gives the part names).
        in_indices: which maps of the backbone's output tuple are the stages.
        reid_map: 'concat' (S_1 with the upsampled deeper stages) or 'last' (the last
            stage upsampled to the S_1 size).
        reid_align_corners: ``align_corners`` of P_reid's upsampling (True, BPBreID).
        parsing_channels: C_hp of the DPU and PPE (256).
        dpu_align_corners: ``align_corners`` of the DPU cascade (False).
        position_encoding: '1d' (rows), '2d' (rows and columns) or None (no PPE).
        embed_dim: D of the embeddings (512).
        wamp: 'sum' (average + max), 'concat' (FC over both) or 'avg' (GWAP only).
        visibility_threshold: a part is visible iff ``max hp_k`` is strictly above it.
        mask_gradient: the ReID losses' gradient flows through the pooling masks into the
            parsing branch (True, BPBreID); False detaches the masks before pooling.
        train_visibility: part visibility given to the part triplet loss: 'label' (part
            present in the resized labels), 'pred' (the test rule) or 'none'.
        id_weights: weight of the identity loss of 'global', 'foreground', 'concat'.
        parsing_loss: the parsing loss; its ``loss_weight`` is lambda (0.4).
        id_loss: identity loss on the BNNeck logits.
        part_triplet_loss: the loss of the part embeddings ``[N, K, D]`` called with
            ``visibility``: PCT (default, its ``num_parts``/``embed_dim`` are filled in),
            ``PartAveragedTripletLoss`` or ``PartHCTLoss`` (Table 5).
        label_resize: how the labels are brought to the parsing size ('nearest').
        ignore_index: label of pixels without supervision.
        test_embeddings: which embeddings are used at test time, in this order
            ('global', 'foreground', 'parts'); F+P by default (Table 6).
        test_foreground: 'bn' (the BNNeck output, also for 'global') or 'pre_bn'.
        test_normalize: L2-normalise each test embedding.
        init_cfg: mmengine initialisation config.
    """

    visibility_type = 'binary'

    def __init__(self,
                 in_channels: Sequence[int] = (128, 256, 512, 1024),
                 num_classes: int = 702,
                 num_parts: int = 8,
                 part_scheme: str = 'bpbreid8',
                 in_indices: Sequence[int] = (0, 1, 2, 3),
                 reid_map: str = 'concat',
                 reid_align_corners: bool = True,
                 parsing_channels: int = 256,
                 dpu_align_corners: bool = False,
                 position_encoding: Optional[str] = '1d',
                 embed_dim: int = 512,
                 wamp: str = 'sum',
                 visibility_threshold: float = 0.4,
                 mask_gradient: bool = True,
                 train_visibility: str = 'label',
                 id_weights: Optional[Dict[str, float]] = None,
                 parsing_loss: LossCfg = dict(
                     type='SmoothedParsingLoss', label_smoothing=0.1, gamma=0.5,
                     loss_weight=0.4),
                 id_loss: LossCfg = dict(type='CrossEntropyLoss', label_smoothing=0.1),
                 part_triplet_loss: LossCfg = dict(
                     type=PCT_TYPE, margin=0.3, bank_size=256, anchor_mode='all'),
                 label_resize: str = 'nearest',
                 ignore_index: int = 255,
                 test_embeddings: Sequence[str] = ('foreground', 'parts'),
                 test_foreground: str = 'bn',
                 test_normalize: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        scheme = get_part_scheme(part_scheme)
        if num_parts != scheme.num_parts:
            raise ValueError(f'DROPHead: num_parts={num_parts} but part scheme '
                             f'{part_scheme!r} has K={scheme.num_parts} parts {scheme.names}')
        for name, value, allowed in (('reid_map', reid_map, REID_MAPS),
                                     ('wamp', wamp, WAMP_MODES),
                                     ('train_visibility', train_visibility, TRAIN_VISIBILITIES),
                                     ('label_resize', label_resize, LABEL_RESIZES),
                                     ('test_foreground', test_foreground, TEST_FOREGROUNDS),
                                     ('position_encoding', position_encoding,
                                      POSITION_MODES + (None, ))):
            if value not in allowed:
                raise ValueError(f'DROPHead: {name} must be one of {allowed}, got {value!r}')
        in_channels = tuple(int(c) for c in in_channels)
        in_indices = tuple(int(i) for i in in_indices)
        if len(in_channels) != len(in_indices) or not in_channels:
            raise ValueError(f'DROPHead: in_channels {in_channels} and in_indices {in_indices} '
                             'need one entry per backbone stage')
        test_embeddings = tuple(test_embeddings)
        if not test_embeddings or any(e not in TEST_EMBEDDINGS for e in test_embeddings) \
                or len(set(test_embeddings)) != len(test_embeddings):
            raise ValueError(f'DROPHead: test_embeddings must be distinct entries of '
                             f'{TEST_EMBEDDINGS}, got {test_embeddings}')
        test_embeddings = tuple(e for e in TEST_EMBEDDINGS if e in test_embeddings)
        weights = {k: 1.0 for k in ID_KEYS} if id_weights is None else dict(id_weights)
        if set(weights) != set(ID_KEYS) or any(w < 0 for w in weights.values()):
            raise ValueError(f'DROPHead: id_weights must give a weight >= 0 to each of '
                             f'{ID_KEYS}, got {id_weights}')
        self.in_channels = in_channels
        self.in_indices = in_indices
        self.num_classes = num_classes
        self.num_parts = num_parts
        self.part_scheme = part_scheme
        self.part_names: Tuple[str, ...] = scheme.names
        self.reid_map_mode = reid_map
        self.reid_align_corners = reid_align_corners
        self.reid_channels = sum(in_channels) if reid_map == 'concat' else in_channels[-1]
        self.embed_dim = embed_dim
        self.wamp = wamp
        self.visibility_threshold = visibility_threshold
        self.mask_gradient = mask_gradient
        self.train_visibility = train_visibility
        self.id_weights = {k: float(v) for k, v in weights.items()}
        self.label_resize = label_resize
        self.ignore_index = ignore_index
        self.test_embeddings = test_embeddings
        self.test_foreground = test_foreground
        self.test_normalize = test_normalize

        # parsing branch: DPU (+ PPE) -> BN + 1x1 conv to K+1 classes (0 = background)
        self.dpu = DetailPreservingUpsampling(in_channels, parsing_channels, dpu_align_corners)
        self.position_encoder = (None if position_encoding is None else
                                 PedestrianPositionEncoder(parsing_channels, position_encoding))
        self.parsing_head = build_pixel_classifier(parsing_channels, num_parts + 1)

        # parsing-guided ReID branch
        pooled = self.reid_channels * (2 if wamp == 'concat' else 1)
        self.global_reduce = dim_reduction(self.reid_channels, embed_dim)
        self.foreground_reduce = dim_reduction(pooled, embed_dim)
        self.parts_reduce = dim_reduction(pooled, embed_dim)  # shared by all parts
        self.global_bnneck = BNNeck(embed_dim, num_classes)
        self.foreground_bnneck = BNNeck(embed_dim, num_classes)
        self.concat_bnneck = BNNeck(embed_dim * num_parts, num_classes)

        self.parsing_loss = _build_loss(parsing_loss)
        self.id_loss = _build_loss(id_loss)
        if isinstance(part_triplet_loss, dict) and \
                str(part_triplet_loss.get('type', '')).split('.')[-1] == PCT_TYPE:
            part_triplet_loss = dict(part_triplet_loss)
            for key, value in (('num_parts', num_parts), ('embed_dim', embed_dim)):
                if part_triplet_loss.setdefault(key, value) != value:
                    raise ValueError(f'DROPHead: part_triplet_loss.{key}='
                                     f'{part_triplet_loss[key]} but the head has {key}={value}')
        self.part_triplet_loss = _build_loss(part_triplet_loss)

    # ------------------------------------------------------------------ maps
    def stages(self, feats: Union[Tensor, Sequence[Tensor]]) -> List[Tensor]:
        """The backbone stages ``[N, c_i, h_i, w_i]`` the head uses, checked."""
        feats = (feats, ) if isinstance(feats, Tensor) else tuple(feats)
        try:
            xs = [feats[i] for i in self.in_indices]
        except IndexError:
            raise ValueError(f'DROPHead: in_indices {self.in_indices} but the backbone gives '
                             f'{len(feats)} maps') from None
        got = tuple(x.shape[1] if x.dim() == 4 else None for x in xs)
        if got != self.in_channels:
            raise ValueError(f'DROPHead expects stages [N, c_i, h_i, w_i] with c_i = '
                             f'{self.in_channels} (in_channels), got '
                             f'{[tuple(x.shape) for x in xs]}')
        return xs

    def reid_maps(self, xs: Sequence[Tensor]) -> List[Tensor]:
        """The pieces of ``P_reid`` at the S_1 size: every stage ('concat') or the last one."""
        size = tuple(xs[0].shape[2:])
        maps = xs if self.reid_map_mode == 'concat' else xs[-1:]
        return [resize_to(x, size, self.reid_align_corners) for x in maps]

    def reid_map(self, xs: Sequence[Tensor]) -> Tensor:
        """``P_reid [N, C_reid, h_1, w_1]``: concatenated stages, or the upsampled last one.

        The forward pass pools the pieces of :meth:`reid_maps` one by one (pooling is per
        channel, so this equals pooling this concatenation) and never builds this map.
        """
        size = tuple(xs[0].shape[2:])
        if self.reid_map_mode == 'concat':
            return resize_concat(xs, size, self.reid_align_corners)
        return resize_to(xs[-1], size, self.reid_align_corners)

    def parsing_features(self, xs: Sequence[Tensor]) -> Tensor:
        """``X_hp = DPU(stages) + PPE(positions)`` ``[N, C_hp, h_1, w_1]``."""
        p_hp = self.dpu(xs)
        if self.position_encoder is None:
            return p_hp
        return p_hp + self.position_encoder(p_hp.shape[2], p_hp.shape[3], p_hp.shape[0])

    def parsing_logits(self, x_hp: Tensor) -> Tensor:
        """Parsing logits ``[N, K+1, h, w]`` = conv1x1(BN(X_hp)), channel 0 = background."""
        return pixel_logits(self.parsing_head.bn(x_hp), self.parsing_head.conv)

    def pool(self, maps: Sequence[Tensor], masks: Tensor) -> Tuple[Tensor, Tensor]:
        """GAP ``[N, C]`` and WAMP ``[N, J, C]`` (``2C`` for 'concat') of ``P_reid`` by masks.

        ``maps`` are the channel groups of ``P_reid`` (:meth:`reid_maps`), ``masks``
        ``[N, J, h, w]``; GAP and the weighted averages come from one product per group.
        """
        mass = masks.sum(dim=(2, 3)).clamp(min=1e-6)  # [N, J]
        if self.wamp == 'avg':
            sums = torch.cat([pool_by_masks(m, masks, with_mean=True) for m in maps], dim=2)
            return sums[:, 0], sums[:, 1:] / mass[..., None]
        # sums and weighted maxima of each group together (one gradient per group)
        pooled = [pool_by_masks_and_max(m, masks, with_mean=True) for m in maps]
        sums = torch.cat([p[0] for p in pooled], dim=2)
        top = torch.cat([p[1] for p in pooled], dim=2)  # [N, J, C]
        gap, avg = sums[:, 0], sums[:, 1:] / mass[..., None]  # [N, C], [N, J, C]
        return gap, (avg + top if self.wamp == 'sum' else torch.cat([avg, top], dim=2))

    def wamp_pool(self, reid: Tensor, masks: Tensor) -> Tensor:
        """WAMP of one map ``[N, C, h, w]`` by masks ``[N, J, h, w]``: ``[N, J, C]``."""
        return self.pool([reid], masks)[1]

    def forward(self, feats: Union[Tensor, Sequence[Tensor]]) -> Dict[str, Tensor]:
        """Parsing maps, visibility and embeddings of a batch.

        Returns:
            dict with 'part_logits' and 'part_maps' ``[N, K+1, h, w]`` (softmax, 0 =
            background), 'foreground_map' ``[N, h, w]``, 'visibility' ``[N, K]`` bool,
            'global' and 'foreground' ``[N, D]``, 'parts' ``[N, K, D]``, 'concat'
            ``[N, K*D]`` (pre-BN), 'bn_global' and 'bn_foreground' ``[N, D]``; in
            training mode also the BNNecks' 'id_logits_{global,foreground,concat}'.
        """
        xs = self.stages(feats)
        num = xs[0].shape[0]
        reid = self.reid_maps(xs)  # the channel groups of P_reid, [N, C_i, h, w]
        logits = self.parsing_logits(self.parsing_features(xs))  # [N, K+1, h, w]
        maps = logits.softmax(dim=1)
        part_maps = maps[:, 1:]  # [N, K, h, w]
        fg_map = part_maps.amax(dim=1, keepdim=True)  # [N, 1, h, w]

        masks = torch.cat([fg_map, part_maps], dim=1)  # [N, 1+K, h, w]
        if not self.mask_gradient:
            masks = masks.detach()
        gap, pooled = self.pool(reid, masks)  # [N, C], [N, 1+K, C']
        f_global = self.global_reduce(gap)  # [N, D]
        f_fg = self.foreground_reduce(pooled[:, 0])  # [N, D]
        f_parts = self.parts_reduce(pooled[:, 1:].flatten(0, 1)).view(num, self.num_parts, -1)
        # each BNNeck runs once per batch (its BN statistics move once per training step)
        bn_global, id_global = self.global_bnneck(f_global)
        bn_fg, id_fg = self.foreground_bnneck(f_fg)
        out = {
            'part_logits': logits,
            'part_maps': maps,
            'foreground_map': fg_map[:, 0],
            'visibility': part_visibility(maps, 'threshold', self.visibility_threshold),
            'global': f_global,
            'foreground': f_fg,
            'parts': f_parts,
            'concat': f_parts.flatten(1),
            'bn_global': bn_global,
            'bn_foreground': bn_fg,
        }
        if self.training:  # identity logits of the BNNecks, for the losses
            out.update(id_logits_global=id_global, id_logits_foreground=id_fg,
                       id_logits_concat=self.concat_bnneck(out['concat'])[1])
        return out

    # ------------------------------------------------------------------ training
    def part_targets(self, data_samples: Sequence[ReIDDataSample], size: Tuple[int, int],
                     device: torch.device) -> Tensor:
        """The samples' ``gt_part_map`` at the parsing size ``[N, h, w]``, ids checked."""
        return part_targets(data_samples, self.num_parts, size, device, 'DROPHead',
                            self.part_scheme, LABEL_HINT, self.label_resize, self.ignore_index)

    def loss(self, feats: Union[Tensor, Sequence[Tensor]],
             data_samples: Sequence[ReIDDataSample]) -> Dict[str, Tensor]:
        """'loss_hp', 'loss_id_{global,foreground,concat}' and 'loss_tri_parts'."""
        out = self(feats)
        logits = out['part_logits']
        labels = gather_labels(data_samples, self.num_classes, logits.device)  # [N]
        losses: Dict[str, Tensor] = {}
        target = None
        if getattr(self.parsing_loss, 'loss_weight', 1.0) != 0 or \
                self.train_visibility == 'label':
            target = self.part_targets(data_samples, logits.shape[-2:], logits.device)
        if getattr(self.parsing_loss, 'loss_weight', 1.0) != 0:
            losses['loss_hp'] = self.parsing_loss(logits, target)
        for key in ID_KEYS:
            if self.id_weights[key] > 0:
                if f'id_logits_{key}' not in out:  # loss() of a head in eval mode
                    neck = getattr(self, f'{key}_bnneck')
                    out[f'id_logits_{key}'] = neck(out[key])[1]
                losses[f'loss_id_{key}'] = self.id_weights[key] * self.id_loss(
                    out[f'id_logits_{key}'], labels)
        losses['loss_tri_parts'] = self.part_triplet_loss(
            out['parts'], labels, visibility=self.training_visibility(out, target))
        return losses

    def training_visibility(self, out: Dict[str, Tensor],
                            target: Optional[Tensor]) -> Optional[Tensor]:
        """Part visibility ``[N, K]`` of the part triplet loss (None = all visible)."""
        if self.train_visibility == 'none':
            return None
        if self.train_visibility == 'pred':
            return out['visibility']
        ids = torch.arange(1, self.num_parts + 1, device=target.device)
        return (target.flatten(1)[:, None, :] == ids[None, :, None]).any(dim=2)  # [N, K]

    # ------------------------------------------------------------------ test
    @property
    def embedding_names(self) -> Tuple[str, ...]:
        """Names of the test embeddings ('foreground', then the K part names, by default)."""
        names: Tuple[str, ...] = ()
        for key in self.test_embeddings:
            names += tuple(self.part_names) if key == 'parts' else (key, )
        return names

    def predict_tensors(self, feats: Union[Tensor, Sequence[Tensor]]) -> Tuple[Tensor, Tensor]:
        """Test embeddings ``[N, P, D]`` (foreground, parts) and visibility ``[N, P]``."""
        out = self(feats)
        rows, vis = [], []
        ones = out['global'].new_ones(out['global'].shape[0], 1)
        for key in self.test_embeddings:
            if key == 'parts':
                rows.append(out['parts'])
                vis.append(out['visibility'].to(ones.dtype))
                continue
            bn = self.test_foreground == 'bn'
            rows.append(out[f'bn_{key}' if bn else key][:, None])
            vis.append(ones)
        embeddings = torch.cat(rows, dim=1)  # [N, P, D]
        if self.test_normalize:
            embeddings = F.normalize(embeddings, dim=2)
        return embeddings, torch.cat(vis, dim=1)

    def predict(self, feats: Union[Tensor, Sequence[Tensor]],
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """Fill each sample with embeddings ``[P, D]`` (foreground, parts) and visibility."""
        embeddings, visibility = self.predict_tensors(feats)
        return fill_predictions(data_samples, embeddings, visibility, self.embedding_names,
                                type(self).__name__)
