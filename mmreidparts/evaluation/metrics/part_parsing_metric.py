"""The parsing metric: per-part IoU and mIoU of a model's predicted part maps."""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmengine.structures import BaseDataElement
from prettytable import PrettyTable
from torch import Tensor

from mmreidparts.evaluation.functional.parsing import (
    IGNORE_INDEX,
    RESOLUTIONS,
    parsing_counts,
    parsing_iou,
    parsing_metrics,
    predicted_parsing,
)
from mmreidparts.registry import METRICS
from mmreidparts.structures import get_part_scheme

ABSENT = ('nan', 'skip')


def _pixel_data(value: Any) -> Optional[Tensor]:
    """The tensor of a ``PixelData`` field, of its ``to_dict()``, or a tensor as is."""
    if value is None:
        return None
    if isinstance(value, BaseDataElement):
        value = value.to_dict()
    if isinstance(value, dict):
        value = value.get('data')
    return None if value is None else torch.as_tensor(value)


@METRICS.register_module()
class PartParsingMetric(BaseMetric):
    """Per-part IoU and mIoU of the predicted part maps against the part labels.

    Reported next to :class:`ReIDMetric` by any model whose head (or aux head) predicts
    part maps: ``ReIDModel(test_cfg=dict(return_part_maps=True))`` stores
    ``pred_part_map`` (soft maps ``[K+1, h, w]``, channel 0 the background, from the
    head's ``forward(feats)['part_maps']``) in every data sample, and the val/test
    pipeline loads the labels into ``gt_part_map`` (``LoadPartLabel`` after
    ``LoadReIDImage`` and ``part_labels`` in the dataset; see docs/design.md, Evaluation).

    ``process`` reduces each sample to its pixel counts per class (intersection,
    labelled, predicted; ``[3, K+1]`` integers): no map is kept. ``compute_metrics`` sums
    them, so the figures are those of all pixels of the split, as
    ``tools/analysis_tools/part_iou.py`` computes them. Under distributed evaluation the
    per-sample counts are gathered by mmengine's ``collect_results`` (the duplicates of a
    padded sampler dropped) and summed. Label pixels equal to ``ignore_index`` are not
    counted; an image whose label is entirely ignored counts nothing (their number is
    logged).

    IoU of a class = |pred & label| / |pred | label| over the split. A class neither
    labelled nor predicted anywhere has no IoU: it is left out of the means and reported
    as NaN (``absent='nan'``) or not at all (``absent='skip'``).

    Args:
        num_parts: K; None: the scheme's (``part_scheme`` or the dataset's
            ``metainfo['part_scheme']``), else the channels of the first prediction minus
            one. Every prediction must have K+1 channels and every label ids 0..K.
        part_scheme: part scheme naming the K parts (``IoU_<part name>``); None: the
            dataset's metainfo, when it has K parts, else ``part1..partK``.
        resolution: ``'label'`` (default): the maps are upsampled bilinearly to the label
            size and the most likely class taken at each pixel; ``'map'``: the labels are
            brought to the map size with ``label_resize``, the way the heads build their
            training targets (what the part classifier learnt, apart from the coarseness
            of the map).
        label_resize: ``'bilinear'`` (BPBreID's), ``'area'`` or ``'nearest'``; only for
            ``resolution='map'``.
        ignore_index: label of the pixels without supervision.
        absent: ``'nan'`` or ``'skip'``, see above.
        pred_key: data-sample field of the predicted maps.
        label_key: data-sample field of the labels.
        collect_device: ``'cpu'`` or ``'gpu'``, where results are gathered.
        prefix: prefix of the metric names (``parsing``).
        collect_dir: shared folder for cpu collection (a temporary one when None).

    Returns of ``compute_metrics`` (percent): ``mIoU`` (mean over the K parts),
    ``mIoU_all`` (over the K+1 classes), ``IoU_background`` and ``IoU_<part>`` for each
    part.
    """

    default_prefix: Optional[str] = 'parsing'

    def __init__(self,
                 num_parts: Optional[int] = None,
                 part_scheme: Optional[str] = None,
                 resolution: str = 'label',
                 label_resize: str = 'bilinear',
                 ignore_index: int = IGNORE_INDEX,
                 absent: str = 'nan',
                 pred_key: str = 'pred_part_map',
                 label_key: str = 'gt_part_map',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if resolution not in RESOLUTIONS:
            raise ValueError(f'PartParsingMetric: resolution must be one of {RESOLUTIONS}, '
                             f'got {resolution!r}')
        if absent not in ABSENT:
            raise ValueError(f'PartParsingMetric: absent must be one of {ABSENT}, got '
                             f'{absent!r}')
        if num_parts is not None and (not isinstance(num_parts, int) or num_parts < 1):
            raise ValueError(f'PartParsingMetric: num_parts must be a positive int or None, '
                             f'got {num_parts!r}')
        if part_scheme is not None:
            scheme_k = get_part_scheme(part_scheme).num_parts
            if num_parts is not None and num_parts != scheme_k:
                raise ValueError(f'PartParsingMetric: num_parts={num_parts} but part_scheme '
                                 f'{part_scheme!r} has K={scheme_k} parts')
        self.num_parts = num_parts
        self.part_scheme = part_scheme
        self.resolution = resolution
        self.label_resize = label_resize
        self.ignore_index = ignore_index
        self.absent = absent
        self.pred_key = pred_key
        self.label_key = label_key

    # ------------------------------------------------------------------ K and names
    def _dataset_scheme(self) -> Optional[str]:
        return (self.dataset_meta or {}).get('part_scheme')

    def expected_parts(self) -> Optional[int]:
        """K the predictions and labels must have (None until the first prediction)."""
        if self.num_parts is not None:
            return self.num_parts
        scheme = self.part_scheme or self._dataset_scheme()
        return get_part_scheme(scheme).num_parts if scheme else None

    def class_names(self, num_classes: int) -> Tuple[str, ...]:
        """``background`` and the K part names (those of the scheme when it has K parts)."""
        for scheme in (self.part_scheme, self._dataset_scheme()):
            if scheme and get_part_scheme(scheme).num_parts == num_classes - 1:
                return ('background', ) + tuple(get_part_scheme(scheme).names)
        return ('background', ) + tuple(f'part{k}' for k in range(1, num_classes))

    # ------------------------------------------------------------------ processing
    def _tensors(self, sample: dict, index: int) -> Tuple[Tensor, Tensor]:
        """``(maps [C, h, w] or ids [h, w], label [H, W])`` of one sample, checked."""
        where = sample.get('img_path') or f'data sample {index}'
        pred = _pixel_data(sample.get(self.pred_key))
        if pred is None:
            raise KeyError(
                f"PartParsingMetric: {where} has no '{self.pred_key}' (the predicted part "
                'maps); set model.test_cfg.return_part_maps=True (a head whose '
                "forward(feats) returns 'part_maps' [N, K+1, h, w]), or drop the metric")
        label = _pixel_data(sample.get(self.label_key))
        if label is None:
            raise KeyError(
                f"PartParsingMetric: {where} has no '{self.label_key}' (its part labels); "
                'load them in the val/test pipeline: LoadPartLabel after LoadReIDImage, and '
                'part_labels=dict(scheme=...) in the dataset (see docs/design.md, Evaluation)')
        label = label.detach()
        if label.dim() == 3 and label.shape[0] == 1:
            label = label[0]
        if label.dim() != 2:
            raise ValueError(f"PartParsingMetric: '{self.label_key}' of {where} must be "
                             f'[1, H, W] or [H, W], got {tuple(label.shape)}')
        pred = pred.detach()
        if not pred.is_floating_point() and pred.dim() == 3 and pred.shape[0] == 1:
            pred = pred[0]
        if (pred.is_floating_point() and pred.dim() != 3) or (
                not pred.is_floating_point() and pred.dim() != 2):
            raise ValueError(f"PartParsingMetric: '{self.pred_key}' of {where} must be soft "
                             f'maps [K+1, h, w] or class ids [h, w], got {tuple(pred.shape)}')
        return pred, label

    def _num_classes(self, pred: Tensor, where: str) -> int:
        """K+1 of the metric, checked against a prediction's channels."""
        expected = self.expected_parts()
        if not pred.is_floating_point():
            if expected is None:
                raise ValueError(
                    f"PartParsingMetric: '{self.pred_key}' of {where} holds class ids; set "
                    'num_parts (or part_scheme) so that K is known')
            return expected + 1
        channels = pred.shape[0]
        if expected is not None and channels != expected + 1:
            raise ValueError(
                f"PartParsingMetric: '{self.pred_key}' of {where} has {channels} channels "
                f'(K={channels - 1} parts and the background) but the metric expects '
                f'K={expected} ({self._k_source()}); the head and the labels must use the '
                'same part scheme')
        if self.num_parts is None and expected is None:
            self.num_parts = channels - 1  # fixed by the first prediction
        return channels

    def _k_source(self) -> str:
        if self.num_parts is not None:
            return f'num_parts={self.num_parts}'
        if self.part_scheme:
            return f'part_scheme {self.part_scheme!r}'
        return f"the dataset's part_scheme {self._dataset_scheme()!r}"

    def process(self, data_batch: Any,
                data_samples: Sequence[Union[dict, BaseDataElement]]) -> None:
        """Reduce each sample to its pixel counts ``[3, K+1]`` (the maps are not kept)."""
        groups: Dict[tuple, List[tuple]] = {}
        for index, sample in enumerate(data_samples):
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            pred, label = self._tensors(sample, index)
            where = sample.get('img_path') or f'data sample {index}'
            num_classes = self._num_classes(pred, where)
            key = (tuple(pred.shape), pred.dtype, tuple(label.shape), pred.device)
            groups.setdefault(key, []).append((index, where, pred, label, num_classes))
        counts: Dict[int, Tensor] = {}
        for items in groups.values():
            maps = torch.stack([it[2] for it in items])
            labels = torch.stack([it[3] for it in items]).to(maps.device)
            num_classes = items[0][4]
            self._check_labels(labels, num_classes, [it[1] for it in items])
            pred, label = predicted_parsing(maps, labels, self.resolution, self.label_resize,
                                            self.ignore_index, num_classes)
            for (index, *_), count in zip(items, parsing_counts(pred, label, num_classes,
                                                                self.ignore_index)):
                counts[index] = count
        for index in sorted(counts):
            self.results.append(counts[index].clone())

    def _check_labels(self, labels: Tensor, num_classes: int, where: List[str]) -> None:
        """Stop on a label id outside ``0..K`` (other than the ignore index), naming the image."""
        bad = (labels != self.ignore_index) & ((labels < 0) | (labels >= num_classes))
        if bool(bad.any()):
            i = int(bad.flatten(1).any(dim=1).nonzero()[0])
            value = int(labels[i][bad[i]][0])
            raise ValueError(
                f"PartParsingMetric: '{self.label_key}' of {where[i]} holds the part id "
                f'{value}, but the predicted maps have K={num_classes - 1} parts (valid ids '
                f'0..{num_classes - 1}, {self.ignore_index} = ignored); the labels and the '
                'head must use the same part scheme')

    # ------------------------------------------------------------------ figures
    def compute_metrics(self, results: List[Tensor]) -> Dict[str, float]:
        """Sum the per-sample counts and return the IoU figures (percent)."""
        logger = MMLogger.get_current_instance()
        if not results:
            raise ValueError('PartParsingMetric: no samples were processed')
        shapes = {tuple(r.shape) for r in results}
        if len(shapes) > 1:
            raise ValueError(f'PartParsingMetric: the samples have different numbers of '
                             f'classes {sorted(s[-1] for s in shapes)}')
        stacked = torch.stack(results)  # [N, 3, C]
        unlabelled = int((stacked[:, 1].sum(dim=1) == 0).sum())
        if unlabelled:
            logger.warning(f'PartParsingMetric: {unlabelled} of {len(results)} images have no '
                           'labelled pixel (missing or empty label maps) and count nothing')
        counts = stacked.sum(dim=0)  # [3, C]
        names = self.class_names(counts.shape[1])
        metrics = parsing_metrics(counts, names, self.absent)
        logger.info('\n' + self.table(counts, names))
        return metrics

    @staticmethod
    def table(counts: Tensor, names: Sequence[str]) -> str:
        """Per class IoU and shares of the labelled and predicted pixels (percent)."""
        stats = parsing_iou(counts)
        table = PrettyTable()
        table.field_names = ['class', 'IoU', 'label px %', 'pred px %']
        for i, name in enumerate(names):
            iou = float(stats['iou'][i])
            table.add_row([name, '-' if iou != iou else f'{100 * iou:.2f}',
                           f'{100 * float(stats["label_share"][i]):.2f}',
                           f'{100 * float(stats["pred_share"][i]):.2f}'])
        return table.get_string()
