"""Pixel counts and IoU of predicted part maps against part labels (human parsing).

The functional core of :class:`~mmreidparts.evaluation.metrics.PartParsingMetric` and of
``tools/analysis_tools/part_iou.py``. Classes are ``0`` (background) and ``1..K`` (the
parts); label pixels equal to ``ignore_index`` (255) are never counted.

- :func:`predicted_parsing` turns a model's part maps into class ids at the resolution of
  the comparison: soft maps ``[N, K+1, h, w]`` (probabilities or logits, channel 0 the
  background) are upsampled bilinearly (``align_corners=False``) to the label size and
  the most likely class of each pixel is taken; class-id maps ``[N, h, w]`` are resized
  with nearest neighbour. With ``resolution='map'`` the labels are brought to the map
  size instead, the way the part heads build their training targets
  (:func:`~mmreidparts.models.utils.resize_part_labels`).
- :func:`parsing_counts` gives, per image, the three pixel counts of every class
  (intersection, labelled, predicted); :func:`part_confusion` the full label x prediction
  matrix. Counts add up over images and over processes, so a streaming or distributed
  evaluation sums them.
- :func:`parsing_iou` computes IoU = |pred & label| / |pred | label| per class from the
  summed counts. A class neither labelled nor predicted anywhere has no IoU (NaN) and is
  left out of the means (:func:`mean_iou`).
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

IGNORE_INDEX = 255
RESOLUTIONS = ('label', 'map')
# rows of :func:`parsing_counts`
COUNT_ROWS = ('intersection', 'labelled', 'predicted')


def predicted_parsing(maps: Tensor, labels: Tensor, resolution: str = 'label',
                      label_resize: str = 'bilinear',
                      ignore_index: int = IGNORE_INDEX,
                      num_classes: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """Predicted and true class ids ``[N, H, W]`` (long) at the resolution of the comparison.

    Args:
        maps: soft part maps ``[N, C, h, w]`` (floating, C = K+1, channel 0 background) or
            class ids ``[N, h, w]`` (integer).
        labels: part labels ``[N, H, W]`` (ids ``0..K`` or ``ignore_index``).
        resolution: ``'label'``: the prediction is brought to the label size (soft maps
            bilinearly then argmax, ids by nearest neighbour); ``'map'``: the labels are
            brought to the map size with ``label_resize``.
        label_resize: ``'bilinear'``, ``'area'`` or ``'nearest'`` (``resolution='map'``).
        ignore_index: label of the pixels without supervision.
        num_classes: K+1; needed for class-id maps with ``resolution='map'`` (soft maps
            give it by their channels).
    """
    if resolution not in RESOLUTIONS:
        raise ValueError(f'resolution must be one of {RESOLUTIONS}, got {resolution!r}')
    if labels.dim() != 3:
        raise ValueError(f'part labels must be [N, H, W], got {tuple(labels.shape)}')
    soft = maps.is_floating_point()
    if (soft and maps.dim() != 4) or (not soft and maps.dim() != 3):
        raise ValueError('part maps must be soft maps [N, K+1, h, w] (floating) or class ids '
                         f'[N, h, w] (integer), got {tuple(maps.shape)} {maps.dtype}')
    if maps.shape[0] != labels.shape[0]:
        raise ValueError(f'{maps.shape[0]} part maps for {labels.shape[0]} label maps')
    labels = labels.to(maps.device).long()
    size = tuple(labels.shape[-2:])
    if resolution == 'map':
        from mmreidparts.models.utils import resize_part_labels  # no import cycle at load
        map_size = tuple(maps.shape[-2:])
        if soft:
            num_classes = maps.shape[1]
        elif num_classes is None:
            raise ValueError("resolution='map' with class-id maps needs num_classes (K+1)")
        labels = resize_part_labels(labels, map_size, num_classes, label_resize, ignore_index)
        return (maps.argmax(dim=1) if soft else maps.long()), labels
    if soft:
        if tuple(maps.shape[-2:]) != size:
            maps = F.interpolate(maps.float(), size=size, mode='bilinear', align_corners=False)
        return maps.argmax(dim=1), labels
    if tuple(maps.shape[-2:]) != size:
        maps = F.interpolate(maps[:, None].float(), size=size, mode='nearest')[:, 0]
    return maps.long(), labels


def _check_ids(pred: Tensor, label: Tensor, num_classes: int, ignore_index: int) -> Tensor:
    """The mask of the counted pixels; stops on an id outside ``0..num_classes-1``."""
    if pred.shape != label.shape:
        raise ValueError(f'prediction {tuple(pred.shape)} and label {tuple(label.shape)} '
                         'maps differ in shape')
    valid = label != ignore_index
    for name, ids in (('label', label[valid]), ('prediction', pred[valid])):
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= num_classes):
            bad = int(ids.max()) if int(ids.max()) >= num_classes else int(ids.min())
            raise ValueError(f'part {name} id {bad} is outside 0..{num_classes - 1} '
                             f'(K={num_classes - 1} parts and the background; '
                             f'{ignore_index} = ignored)')
    return valid


def parsing_counts(pred: Tensor, label: Tensor, num_classes: int,
                   ignore_index: int = IGNORE_INDEX) -> Tensor:
    """Per-image pixel counts ``[N, 3, C]`` (int64): intersection, labelled, predicted.

    ``pred`` and ``label`` are ``[N, H, W]`` class ids (ignored label pixels skipped).
    Summed over images, row 0 is the diagonal of :func:`part_confusion`, rows 1 and 2
    its row and column sums.
    """
    if pred.dim() == 2:
        pred, label = pred[None], label[None]
    valid = _check_ids(pred, label, num_classes, ignore_index)
    num = pred.shape[0]
    image = torch.arange(num, device=pred.device).view(-1, 1, 1).expand_as(pred)
    base = image[valid] * num_classes
    lab, prd = label[valid].long(), pred[valid].long()
    hit = lab == prd
    size = num * num_classes
    counts = torch.stack([
        torch.bincount(base[hit] + lab[hit], minlength=size),
        torch.bincount(base + lab, minlength=size),
        torch.bincount(base + prd, minlength=size),
    ]).view(3, num, num_classes)
    return counts.permute(1, 0, 2).cpu()


def part_confusion(pred: Tensor, label: Tensor, num_classes: int,
                   ignore_index: int = IGNORE_INDEX) -> Tensor:
    """``[C, C]`` pixel counts (int64, cpu), rows = label, columns = prediction."""
    valid = _check_ids(pred, label, num_classes, ignore_index)
    idx = label[valid].long() * num_classes + pred[valid].long()
    return torch.bincount(idx.flatten().cpu(), minlength=num_classes**2).reshape(
        num_classes, num_classes)


def counts_from_confusion(conf: Tensor) -> Tensor:
    """The ``[3, C]`` counts (intersection, labelled, predicted) of a confusion matrix."""
    return torch.stack([conf.diag(), conf.sum(dim=1), conf.sum(dim=0)])


def parsing_iou(counts: Tensor) -> Dict[str, Tensor]:
    """IoU and pixel shares per class from summed counts ``[3, C]``.

    Returns float64 tensors ``[C]``: ``iou`` (NaN where the class is neither labelled nor
    predicted), ``label_share`` and ``pred_share`` (fractions of the counted pixels).
    """
    if counts.dim() != 2 or counts.shape[0] != 3:
        raise ValueError(f'counts must be [3, C] (intersection, labelled, predicted), got '
                         f'{tuple(counts.shape)}')
    inter, labelled, predicted = counts.double()
    union = labelled + predicted - inter
    iou = torch.where(union > 0, inter / union.clamp(min=1), torch.full_like(inter, float('nan')))
    total = labelled.sum().clamp(min=1)
    return dict(iou=iou, label_share=labelled / total, pred_share=predicted / total)


def mean_iou(iou: Tensor, with_background: bool = False) -> float:
    """Mean of the defined IoUs of the parts (classes 1..K), or of all K+1 classes.

    NaN when no class of the mean has an IoU.
    """
    values = iou if with_background else iou[1:]
    values = values[~torch.isnan(values)]
    return float(values.mean()) if values.numel() else float('nan')


def parsing_metrics(counts: Tensor, names: Optional[Tuple[str, ...]] = None,
                    absent: str = 'nan') -> Dict[str, float]:
    """Named figures (percent) of summed counts ``[3, K+1]``.

    ``mIoU`` (the K parts), ``mIoU_all`` (with the background) and ``IoU_<name>`` of each
    class (``names``: the K+1 class names, background first; default ``background``,
    ``part1``..``partK``). A class without IoU is reported as NaN (``absent='nan'``) or
    left out (``absent='skip'``); the means skip it either way.
    """
    if absent not in ('nan', 'skip'):
        raise ValueError(f"absent must be 'nan' or 'skip', got {absent!r}")
    num_classes = counts.shape[1]
    if names is None:
        names = ('background', ) + tuple(f'part{k}' for k in range(1, num_classes))
    if len(names) != num_classes:
        raise ValueError(f'{len(names)} class names for {num_classes} classes (K+1)')
    iou = parsing_iou(counts)['iou']
    out = dict(mIoU=100 * mean_iou(iou), mIoU_all=100 * mean_iou(iou, with_background=True))
    for name, value in zip(names, iou.tolist()):
        if value != value and absent == 'skip':  # NaN
            continue
        out[f'IoU_{name}'] = 100 * value
    return out
