"""VPM head: region locator, visibility scores, weighted region pooling, region losses.

Visibility-aware Part Model (Sun et al., CVPR 2019; vpm.md). On the backbone map
``T [N, C, h, w]`` the head computes

- the region locator ``P(R_i | g) = softmax_i(W_i^T g)`` ``[N, p, h, w]`` (1x1 conv, Eq. 1),
- the visibility scores ``C_i = sum_g P(R_i | g)`` ``[N, p]`` (Eq. 2),
- the region features ``f_i = sum_g P(R_i | g) g / C_i`` ``[N, p, C]`` (Eq. 3),

and trains with ``L = L_R + L_ID + L_tri`` (Eq. 8): the pixel cross-entropy of the locator
against the region labels that VPM's crop gives for free (Eq. 5), one identity classifier
per region trained on the regions the image shows (Eq. 6), and the batch-hard triplet on
the region-selective distance over the regions both images show (Eq. 7). At test time each
image gets p embeddings with soft visibility ``C_i / max_j C_j``: the evaluator's weighted
part distance ``sum_i v^q_i v^g_i d_i / sum_i v^q_i v^g_i`` is then Eq. 4, since scaling one
image's scores by a positive constant changes neither numerator nor denominator ratio.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.model import BaseModule
from mmengine.structures import PixelData
from torch import Tensor, nn

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample, fill_predictions
from mmreidparts.structures.region_grid import check_grid, project_region_labels

from ..utils.embedding import dim_reduction
from ..utils.part_maps import pixel_logits
from ..utils.pooling import weighted_average_pool
from .bnneck_head import gather_labels

EMBEDDINGS = ('pooled', 'reduced')
ID_REGIONS = ('visible', 'all')
TRIPLET_REGIONS = ('shared', 'all')
TEST_VISIBILITIES = ('soft', 'uniform')
IGNORE = -100  # cross-entropy ignore index of cells no region covers
LossCfg = Union[dict, nn.Module]


def _build_loss(cfg: Optional[LossCfg]) -> Optional[nn.Module]:
    """Build a loss from a config dict (an ``nn.Module`` is used as is; None stays None)."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(cfg)


class RegionLocator(nn.Module):
    """1x1 convolution ``C -> p`` and a softmax over the p regions at every pixel (Eq. 1).

    Args:
        in_channels: channels C of the feature map.
        num_regions: p.
        bias: add a bias to the logits (Eq. 1 has none).
    """

    def __init__(self, in_channels: int, num_regions: int, bias: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, num_regions, 1, bias=bias)
        nn.init.normal_(self.conv.weight, std=0.001)
        if bias:
            nn.init.zeros_(self.conv.bias)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Logits and probabilities ``[N, p, h, w]`` (float32) of the map ``x [N, C, h, w]``."""
        logits = pixel_logits(x, self.conv).float()  # [N, p, h, w]
        return logits, logits.softmax(dim=1)


class RegionClassifiers(nn.Module):
    """One identity classifier per region: Linear-BN-ReLU ``C -> d``, then Linear ``d -> K``.

    Args:
        in_channels: C.
        num_regions: p.
        num_classes: K, the training identities.
        dim_reduce: d (None: no reduction, the classifier works on the C-dim feature).
    """

    def __init__(self, in_channels: int, num_regions: int, num_classes: int,
                 dim_reduce: Optional[int] = 256) -> None:
        super().__init__()
        self.reductions = nn.ModuleList(
            dim_reduction(in_channels, dim_reduce) for _ in range(num_regions))
        dim = dim_reduce or in_channels
        self.classifiers = nn.ModuleList(nn.Linear(dim, num_classes) for _ in range(num_regions))
        for fc in self.classifiers:
            nn.init.normal_(fc.weight, std=0.001)
            nn.init.zeros_(fc.bias)

    def reduce(self, feats: Tensor) -> Tensor:
        """Reduced features ``[N, p, d]`` of region features ``[N, p, C]``."""
        return torch.stack([red(feats[:, i]) for i, red in enumerate(self.reductions)], dim=1)


@MODELS.register_module()
class VPMHead(BaseModule):
    """Visibility-aware Part Model head (vpm.md).

    Training samples need ``region_boxes`` ``[p, 4]`` (from ``VPMRandomCrop``, moved by the
    later geometric transforms) and ``img_shape``: the head projects the boxes on its own
    feature grid (stride = input size / map size, :func:`project_region_labels`), which
    gives the label map ``L`` of the locator loss and the visible set ``V`` (the regions
    owning at least one cell) of the identity and triplet losses.

    Args:
        in_channels: channels C of the backbone map.
        num_classes: number of training identities K.
        grid: ``(m, n)`` region rows and columns (p = m * n); both must divide the
            feature map (6 x 1 on 24 x 8 in the paper's setting).
        in_index: which map of the backbone's output tuple is used.
        locator_bias: bias of the locator's 1x1 convolution (Eq. 1 has none).
        dim_reduce: d of the identity classifiers' first layer (PCB's 256), or None.
        embedding: features of the triplet loss and of the test embeddings:
            ``'pooled'`` (the C-dim ``f_i`` of Eq. 3, the paper's Eq. 4 and 7) or
            ``'reduced'`` (the d-dim output of each classifier's first layer).
        id_regions: ``'visible'`` (Eq. 6: a region's classifier sees only the images
            that show it) or ``'all'`` (ablation MVPM-3).
        triplet_regions: ``'shared'`` (Eq. 7: distances over the regions both images
            show) or ``'all'`` (ablation MVPM-2).
        test_visibility: ``'soft'`` (``C_i / max_j C_j``, Eq. 4) or ``'uniform'`` (ones:
            the plain mean over regions, ablation MVPM-1).
        enable_triplet: whether the triplet loss is on; a ``StageSwitchHook`` turns it on
            for the second training stage.
        loss_region: pixel loss of the locator (Eq. 5; mean over pixels and batch).
        loss_id: identity loss of each region's classifier; summed over the regions
            (visible ones), averaged over the batch (Eq. 6).
        loss_triplet: the region-selective triplet (``PartAveragedTripletLoss``, margin
            1), or None for none at all.
        eps: added to ``C_i`` in the pooling (Eq. 3).
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 grid: Sequence[int] = (6, 1),
                 in_index: int = -1,
                 locator_bias: bool = False,
                 dim_reduce: Optional[int] = 256,
                 embedding: str = 'pooled',
                 id_regions: str = 'visible',
                 triplet_regions: str = 'shared',
                 test_visibility: str = 'soft',
                 enable_triplet: bool = True,
                 loss_region: LossCfg = dict(type='CrossEntropyLoss'),
                 loss_id: LossCfg = dict(type='CrossEntropyLoss'),
                 loss_triplet: Optional[LossCfg] = dict(
                     type='PartAveragedTripletLoss', margin=1.0),
                 eps: float = 1e-6,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels <= 0 or num_classes <= 0:
            raise ValueError(f'VPMHead needs in_channels > 0 and num_classes > 0, got '
                             f'{in_channels} and {num_classes}')
        for name, value, allowed in (('embedding', embedding, EMBEDDINGS),
                                     ('id_regions', id_regions, ID_REGIONS),
                                     ('triplet_regions', triplet_regions, TRIPLET_REGIONS),
                                     ('test_visibility', test_visibility, TEST_VISIBILITIES)):
            if value not in allowed:
                raise ValueError(f'VPMHead: {name} must be one of {allowed}, got {value!r}')
        if dim_reduce is not None and dim_reduce <= 0:
            raise ValueError(f'VPMHead: dim_reduce must be a positive int or None, '
                             f'got {dim_reduce}')
        self.region_grid = check_grid(grid, 'VPMHead: grid')
        self.num_regions = self.region_grid[0] * self.region_grid[1]
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.in_index = in_index
        self.embedding = embedding
        self.id_regions = id_regions
        self.triplet_regions = triplet_regions
        self.test_visibility = test_visibility
        self.enable_triplet = bool(enable_triplet)
        self.eps = eps
        # set by ReIDModel(test_cfg=dict(return_part_maps=True)); predict then stores them
        self.return_part_maps = False
        self.locator = RegionLocator(in_channels, self.num_regions, locator_bias)
        self.classifiers = RegionClassifiers(in_channels, self.num_regions, num_classes,
                                             dim_reduce)
        self.loss_region = _build_loss(loss_region)
        self.loss_id = _build_loss(loss_id)
        self.loss_triplet = _build_loss(loss_triplet)

    @property
    def visibility_type(self) -> str:
        """'soft' (predicted scores) or, with ``test_visibility='uniform'``, 'ones'."""
        return 'soft' if self.test_visibility == 'soft' else 'ones'

    @property
    def training_only_prefixes(self) -> Tuple[str, ...]:
        """Modules only training uses: the identity classifiers (and their reductions).

        The reduction layers stay when the test embeddings are the reduced ones. Published
        checkpoints leave these out, and loading one does not ask for them.
        """
        if self.embedding == 'pooled':
            return ('classifiers.', )
        return ('classifiers.classifiers.', )

    @property
    def embedding_names(self) -> Tuple[str, ...]:
        """Names of the p test embeddings, ``region1`` .. ``region{p}`` (index r * n + c)."""
        return tuple(f'region{i + 1}' for i in range(self.num_regions))

    def _select(self, feats: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        """Pick the backbone map ``[N, C, h, w]`` and check the grid divides it."""
        x = feats if isinstance(feats, Tensor) else feats[self.in_index]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'VPMHead expects a feature map [N, {self.in_channels}, h, w] '
                             f'(in_channels={self.in_channels}), got {tuple(x.shape)}')
        m, n = self.region_grid
        h, w = x.shape[2:]
        if h % m or w % n:
            raise ValueError(f'VPMHead: the region grid {m}x{n} does not divide the {h}x{w} '
                             f'feature map; choose m dividing {h} and n dividing {w} (or an '
                             'input size / output stride giving such a map)')
        return x

    def forward(self, feats: Union[Tensor, Sequence[Tensor]]) -> Dict[str, Tensor]:
        """Region maps, visibility and features of a batch.

        Returns:
            dict with 'region_logits' and 'region_maps' ``[N, p, h, w]`` (float32,
            softmax over regions), 'part_maps' ``[N, p+1, h, w]`` (the region maps after
            an all-zero channel 0: VPM has no background), 'scores' ``[N, p]`` (``C_i``),
            'visibility' ``[N, p]`` (``C_i / max_j C_j``) and 'features' ``[N, p, C]``
            (``f_i``).
        """
        x = self._select(feats)  # [N, C, h, w]
        logits, maps = self.locator(x)  # [N, p, h, w]
        scores = maps.sum(dim=(2, 3))  # [N, p], sums to h * w
        features = weighted_average_pool(x, maps.to(x.dtype), self.eps)  # [N, p, C]
        visibility = scores / scores.amax(dim=1, keepdim=True).clamp(min=self.eps)
        part_maps = torch.cat([maps.new_zeros(maps.shape[0], 1, *maps.shape[2:]), maps], 1)
        return {
            'region_logits': logits,
            'region_maps': maps,
            'part_maps': part_maps,
            'scores': scores,
            'visibility': visibility,
            'features': features,
        }

    def region_targets(self, data_samples: Sequence[ReIDDataSample], size: Tuple[int, int],
                       device: torch.device) -> Tuple[Tensor, Tensor]:
        """Label map ``[N, h, w]`` (IGNORE where no region) and visible set ``[N, p]`` bool."""
        h, w = size
        labels, visible = [], []
        for i, sample in enumerate(data_samples):
            where = sample.metainfo.get('img_path', f'data sample {i}')
            if 'region_boxes' not in sample:
                raise KeyError(f'VPMHead: {where} has no region_boxes; the training pipeline '
                               'needs VPMRandomCrop (it gives the self-supervised region '
                               'labels)')
            boxes = sample.region_boxes.detach().cpu().numpy().reshape(-1, 4)
            if boxes.shape[0] != self.num_regions:
                raise ValueError(f'VPMHead: {where} has {boxes.shape[0]} region boxes, but the '
                                 f'head has a {self.region_grid} grid ({self.num_regions} '
                                 "regions); set the same grid in VPMRandomCrop and the head")
            img_h, img_w = sample.metainfo.get('img_shape', (None, None))[:2]
            if img_h is None:
                raise KeyError(f'VPMHead: {where} has no img_shape in its metainfo')
            label, vis = project_region_labels(boxes, (img_h / h, img_w / w), h, w)
            labels.append(np.where(label < 0, IGNORE, label))
            visible.append(vis)
        labels = torch.as_tensor(np.stack(labels), device=device)  # [N, h, w]
        visible = torch.as_tensor(np.stack(visible), device=device)  # [N, p]
        return labels, visible

    def id_loss(self, features: Tensor, labels: Tensor, visible: Tensor,
                reduced_all: Optional[Tensor] = None) -> Tensor:
        """Identity loss summed over regions (Eq. 6), averaged over the batch.

        A region's classifier (its BatchNorm included) sees only the images that show it
        (all images with ``id_regions='all'``); a region shown by fewer than two images of
        the batch adds nothing, its BatchNorm needing two. ``reduced_all`` ``[N, p, d]``:
        the reduced features of every image, when already computed (``embedding=
        'reduced'``), whose rows are then used instead.
        """
        num = features.shape[0]
        rows = visible if self.id_regions == 'visible' else torch.ones_like(visible)
        total = features.new_zeros((), dtype=torch.float32)
        for i, fc in enumerate(self.classifiers.classifiers):
            sel = rows[:, i]
            if int(sel.sum()) < 2:
                continue
            if reduced_all is None:
                reduced = self.classifiers.reductions[i](features[sel, i])  # [n_i, d]
            else:
                reduced = reduced_all[sel, i]
            logits = fc(reduced).float()  # [n_i, K]
            total = total + self.loss_id(logits, labels[sel], avg_factor=num)
        return total

    def embeddings(self, out: Dict[str, Tensor]) -> Tensor:
        """Features of the triplet loss and the test embeddings ``[N, p, D]``."""
        if self.embedding == 'pooled':
            return out['features']
        return self.classifiers.reduce(out['features'])

    def loss(self, feats: Union[Tensor, Sequence[Tensor]],
             data_samples: Sequence[ReIDDataSample]) -> Dict[str, Tensor]:
        """Losses 'loss_region', 'loss_id', 'loss_triplet' (when on) and 'region_acc' (%)."""
        out = self(feats)
        logits = out['region_logits']  # [N, p, h, w]
        device = logits.device
        labels = gather_labels(data_samples, self.num_classes, device)  # [N]
        if labels.numel() != logits.shape[0]:
            raise ValueError(f'{labels.numel()} labels for a batch of {logits.shape[0]} images')
        target, visible = self.region_targets(data_samples, logits.shape[2:], device)
        valid = target != IGNORE
        reduced = self.embeddings(out) if self.embedding == 'reduced' else None
        losses = {
            'loss_region': self.loss_region(logits, target, avg_factor=valid.sum()),
            'loss_id': self.id_loss(out['features'], labels, visible, reduced),
        }
        if self.loss_triplet is not None and self.enable_triplet:
            vis = visible.float() if self.triplet_regions == 'shared' else None
            emb = out['features'] if reduced is None else reduced
            losses['loss_triplet'] = self.loss_triplet(emb, labels, visibility=vis)
        with torch.no_grad():
            hits = (logits.argmax(dim=1) == target) & valid
            losses['region_acc'] = hits.sum() * 100.0 / valid.sum().clamp(min=1)
        return losses

    def predict_tensors(self, feats: Union[Tensor, Sequence[Tensor]],
                        out: Optional[Dict[str, Tensor]] = None) -> Tuple[Tensor, Tensor]:
        """Region embeddings ``[N, p, D]`` (float32) and their visibility ``[N, p]``."""
        out = self(feats) if out is None else out
        embeddings = self.embeddings(out).float()  # [N, p, D]
        visibility = out['visibility']  # [N, p]
        if self.test_visibility == 'uniform':
            visibility = torch.ones_like(visibility)
        return embeddings, visibility

    def predict(self, feats: Union[Tensor, Sequence[Tensor]],
                data_samples: Optional[List[ReIDDataSample]] = None) -> List[ReIDDataSample]:
        """Fill each sample with p region embeddings ``[p, D]`` and their visibility ``[p]``."""
        out = self(feats)
        embeddings, visibility = self.predict_tensors(feats, out)
        data_samples = fill_predictions(data_samples, embeddings.detach(), visibility.detach(),
                                        self.embedding_names, type(self).__name__)
        if self.return_part_maps:
            for i, sample in enumerate(data_samples):
                sample.pred_part_map = PixelData(data=out['part_maps'][i].detach())
        return data_samples


__all__ = ['VPMHead', 'RegionLocator', 'RegionClassifiers']
