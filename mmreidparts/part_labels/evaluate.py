"""Agreement of generated label maps with reference label maps (per-part IoU)."""
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np

from mmreidparts.structures.part_schemes import get_part_scheme


def confusion(pred: np.ndarray, true: np.ndarray, num_classes: int) -> np.ndarray:
    """Confusion matrix ``[C, C]`` (rows true, columns predicted) of two label maps."""
    if pred.shape != true.shape:
        raise ValueError(f'label maps differ in shape: {pred.shape} vs {true.shape}')
    idx = true.astype(np.int64).ravel() * num_classes + pred.astype(np.int64).ravel()
    return np.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes,
                                                                         num_classes)


def iou_from_confusion(conf: np.ndarray) -> np.ndarray:
    """IoU ``[C]`` of every class (NaN when a class is absent from both)."""
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, inter / union, np.nan)


def compare_label_dirs(pred_root: str, true_root: str, scheme: str,
                       splits: Optional[Sequence[str]] = None) -> Dict[str, object]:
    """Dataset-level per-part IoU of ``<pred_root>/<scheme>`` against ``<true_root>/<scheme>``.

    Every reference label file is compared with the generated file of the same relative
    path (resized with nearest neighbour when the sizes differ; a missing generated file
    counts as all background). Returns ``{'iou': {part: IoU}, 'miou': mean over parts,
    'foreground_iou': IoU of person vs background, 'images': n}``.
    """
    import cv2

    from .generate import read_label_map
    sch = get_part_scheme(scheme)
    k1 = sch.num_parts + 1
    conf = np.zeros((k1, k1), dtype=np.int64)
    true_dir = osp.join(true_root, scheme)
    if not osp.isdir(true_dir):
        raise FileNotFoundError(f'{true_dir}: reference label folder not found')
    n = 0
    for split in sorted(os.listdir(true_dir)) if splits is None else splits:
        folder = osp.join(true_dir, split)
        if not osp.isdir(folder):
            continue
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                if not name.endswith('.png') or name.startswith('.'):
                    continue
                true = read_label_map(osp.join(root, name))
                rel = osp.relpath(osp.join(root, name), true_dir)
                pred_path = osp.join(pred_root, scheme, rel)
                pred = read_label_map(pred_path) if osp.isfile(pred_path) else \
                    np.zeros_like(true)
                if pred.shape != true.shape:
                    pred = cv2.resize(pred, true.shape[::-1], interpolation=cv2.INTER_NEAREST)
                conf += confusion(pred, true, k1)
                n += 1
    iou = iou_from_confusion(conf)
    fg = np.array([[conf[0, 0], conf[0, 1:].sum()], [conf[1:, 0].sum(), conf[1:, 1:].sum()]])
    return dict(
        iou={name: round(float(iou[k]), 4) for k, name in enumerate(sch.names, start=1)},
        miou=round(float(np.nanmean(iou[1:])), 4) if n else float('nan'),
        foreground_iou=round(float(iou_from_confusion(fg)[1]), 4), images=n)


__all__ = ['confusion', 'iou_from_confusion', 'compare_label_dirs']
