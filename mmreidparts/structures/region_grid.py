"""Geometry of VPM's fixed region grid: side crops, region boxes and their projection.

VPM (vpm.md, section 2) splits the holistic pedestrian box into ``m x n`` uniform
rectangles (index ``i = r * n + c``, rows top to bottom, columns left to right). A crop
keeps a sub-rectangle of the holistic image; the regions it keeps are mapped into the
resized crop and projected on a stride-``S`` grid with the rounding ``floor(v / S + 0.5)``
(one function for every border, so that neighbouring regions tile the grid with no gap
or overlap). The same functions serve the training crop (``VPMRandomCrop``), the partial
queries of the evaluation (``PartialQueryCrop``, ``make_partial_queries``) and the head's
training targets, so there is one implementation of the geometry.
"""
from typing import Sequence, Tuple, Union

import numpy as np

CROP_SIDES = ('top', 'bottom', 'left', 'right')
CROP_MODES = CROP_SIDES + ('bilateral', 'horizontal_bilateral', 'any')
# Modes that pick a side at random, with the sides they pick from (uniformly).
RANDOM_SIDES = dict(bilateral=('top', 'bottom'), horizontal_bilateral=('left', 'right'),
                    any=CROP_SIDES)
Stride = Union[float, Tuple[float, float]]


def round_half_up(value: np.ndarray) -> np.ndarray:
    """VPM's ROI rounding ``floor(v + 0.5)`` (the same for every border)."""
    return np.floor(np.asarray(value, dtype=np.float64) + 0.5).astype(np.int64)


def check_grid(grid: Sequence[int], name: str = 'grid') -> Tuple[int, int]:
    """Return ``(m, n)`` of a region grid, or raise a ValueError naming ``name``."""
    try:
        m, n = (int(v) for v in grid)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a pair (m, n) of rows and columns, got {grid!r}')
    if m < 1 or n < 1 or m * n > 255 or (m, n) != tuple(grid):
        raise ValueError(f'{name} must be (m, n) with ints m, n >= 1 and m * n <= 255, '
                         f'got {tuple(grid)}')
    return m, n


def check_crop_ratio(ratio: float, name: str = 'crop ratio') -> float:
    """Return ``ratio`` as a float if it lies in (0, 1], else raise a ValueError."""
    ratio = float(ratio)
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f'{name} must be in (0, 1] (the kept fraction of the body), '
                         f'got {ratio}')
    return ratio


def side_crop_box(height: int, width: int, ratio: float, side: str) -> Tuple[int, int, int, int]:
    """Integer box ``(x1, y1, x2, y2)`` keeping ``ratio`` of the image on one ``side``.

    ``top`` keeps the upper ``ratio`` of the height (full width), ``bottom`` the lower,
    ``left`` / ``right`` the left / right ``ratio`` of the width (full height). The kept
    length is ``floor(ratio * length + 0.5)``, at least 1 pixel.
    """
    if side not in CROP_SIDES:
        raise ValueError(f'crop side must be one of {CROP_SIDES}, got {side!r}')
    ratio = check_crop_ratio(ratio)
    if side in ('top', 'bottom'):
        kept = max(1, min(height, int(round_half_up(ratio * height))))
        return (0, 0, width, kept) if side == 'top' else (0, height - kept, width, height)
    kept = max(1, min(width, int(round_half_up(ratio * width))))
    return (0, 0, kept, height) if side == 'left' else (width - kept, 0, width, height)


def region_boxes_after_crop(grid: Tuple[int, int],
                            holistic_size: Tuple[int, int],
                            box: Sequence[float],
                            out_size: Tuple[int, int]) -> np.ndarray:
    """Boxes ``[p, 4]`` (x1, y1, x2, y2) of the ``m x n`` regions in the resized crop.

    ``holistic_size`` and ``out_size`` are ``(H, W)``; ``box`` is the crop box in holistic
    pixels. Regions outside the crop get an empty box (``x1 == x2`` or ``y1 == y2``).
    """
    m, n = grid
    hh, hw = holistic_size
    oh, ow = out_size
    x1, y1, x2, y2 = (float(v) for v in box)
    # Borders of the holistic grid, mapped into the output, clipped; shared between regions.
    ys = np.clip((np.arange(m + 1) * hh / m - y1) * oh / (y2 - y1), 0, oh)  # [m + 1]
    xs = np.clip((np.arange(n + 1) * hw / n - x1) * ow / (x2 - x1), 0, ow)  # [n + 1]
    boxes = np.zeros((m * n, 4), dtype=np.float64)
    for r in range(m):
        for c in range(n):
            boxes[r * n + c] = (xs[c], ys[r], xs[c + 1], ys[r + 1])
    return boxes


def region_visible_fractions(grid: Tuple[int, int], holistic_size: Tuple[int, int],
                             box: Sequence[float]) -> np.ndarray:
    """Fraction ``[p]`` of each region's area (in the holistic image) that ``box`` keeps."""
    m, n = grid
    hh, hw = holistic_size
    x1, y1, x2, y2 = (float(v) for v in box)
    ys = np.arange(m + 1) * hh / m  # [m + 1]
    xs = np.arange(n + 1) * hw / n  # [n + 1]
    rows = np.clip(np.minimum(ys[1:], y2) - np.maximum(ys[:-1], y1), 0, None) / (hh / m)
    cols = np.clip(np.minimum(xs[1:], x2) - np.maximum(xs[:-1], x1), 0, None) / (hw / n)
    return (rows[:, None] * cols[None, :]).reshape(-1)  # [m * n], index r * n + c


def _pair(stride: Stride) -> Tuple[float, float]:
    """``(stride_y, stride_x)`` of a scalar or pair stride."""
    if np.isscalar(stride):
        return float(stride), float(stride)
    sy, sx = stride
    return float(sy), float(sx)


def project_region_labels(boxes: np.ndarray, stride: Stride, height: int,
                          width: int) -> Tuple[np.ndarray, np.ndarray]:
    """Label map ``[height, width]`` (int64 region ids) and visibility ``[p]`` (bool).

    ``boxes`` are region boxes in input pixels (:func:`region_boxes_after_crop`) that tile
    the input; each is projected on the grid of stride ``stride`` (a number, or a pair
    ``(stride_y, stride_x)``) by rounding its borders with :func:`round_half_up`. Cells no
    region covers (none when the boxes tile the input; the padding of a later pad-crop)
    get -1. A region is visible when it owns at least one cell.
    """
    sy, sx = _pair(stride)
    labels = np.full((height, width), -1, dtype=np.int64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    corners = round_half_up(boxes / np.array([sx, sy, sx, sy]))  # [p, 4]
    corners[:, [0, 2]] = np.clip(corners[:, [0, 2]], 0, width)
    corners[:, [1, 3]] = np.clip(corners[:, [1, 3]], 0, height)
    for i, (cx1, cy1, cx2, cy2) in enumerate(corners):
        labels[cy1:cy2, cx1:cx2] = i
    visible = np.zeros(len(corners), dtype=bool)
    present = np.unique(labels)
    visible[present[present >= 0]] = True
    return labels, visible


def flip_region_order(grid: Tuple[int, int]) -> np.ndarray:
    """Region id of every id after a horizontal flip: column ``c`` becomes ``n - 1 - c``."""
    m, n = grid
    ids = np.arange(m * n).reshape(m, n)
    return ids[:, ::-1].reshape(-1).copy()


__all__ = [
    'CROP_SIDES', 'CROP_MODES', 'RANDOM_SIDES', 'round_half_up', 'check_grid',
    'check_crop_ratio', 'side_crop_box', 'region_boxes_after_crop', 'region_visible_fractions',
    'project_region_labels', 'flip_region_order'
]
