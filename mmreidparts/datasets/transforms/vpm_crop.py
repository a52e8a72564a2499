"""VPM's self-supervised random crop: the image, its region labels and visible regions.

VPM (vpm.md, section 2.2) splits the holistic pedestrian box into ``m x n`` fixed uniform
regions (default ``6 x 1`` horizontal stripes, index ``i = r * n + c``), crops a random
part of the holistic image, resizes the crop back to the input size and works out where
each region landed. A region rectangle of the holistic image is intersected with the crop
box, shifted by the box corner and scaled by ``output size / box size``; its borders are
then rounded with ``floor(v / S + 0.5)`` on a grid of stride ``S`` (one shared function
for shared borders, so the projected regions tile the grid with no gap or overlap), and a
region is visible when it owns at least one cell.
"""
import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmreidparts.registry import TRANSFORMS

CROP_SIDES = ('top', 'bottom', 'left', 'right')
CROP_MODES = CROP_SIDES + ('bilateral', 'horizontal_bilateral', 'any')
# Modes that pick a side at random, with the sides they pick from (uniformly).
RANDOM_SIDES = dict(bilateral=('top', 'bottom'), horizontal_bilateral=('left', 'right'),
                    any=CROP_SIDES)


def round_half_up(value: np.ndarray) -> np.ndarray:
    """VPM's ROI rounding ``floor(v + 0.5)`` (the same for every border)."""
    return np.floor(np.asarray(value, dtype=np.float64) + 0.5).astype(np.int64)


def side_crop_box(height: int, width: int, ratio: float, side: str) -> Tuple[int, int, int, int]:
    """Integer box ``(x1, y1, x2, y2)`` keeping ``ratio`` of the image on one ``side``.

    ``top`` keeps the upper ``ratio`` of the height (full width), ``bottom`` the lower,
    ``left`` / ``right`` the left / right ``ratio`` of the width (full height). The kept
    length is ``floor(ratio * length + 0.5)``, at least 1 pixel.
    """
    if side not in CROP_SIDES:
        raise ValueError(f'crop side must be one of {CROP_SIDES}, got {side!r}')
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f'crop ratio must be in (0, 1], got {ratio}')
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


def project_region_labels(boxes: np.ndarray, stride: float, height: int,
                          width: int) -> Tuple[np.ndarray, np.ndarray]:
    """Label map ``[height, width]`` (int64 region ids) and visibility ``[p]`` (bool).

    ``boxes`` are region boxes in input pixels (:func:`region_boxes_after_crop`) that tile
    the input; each is projected on the stride-``stride`` grid by rounding its borders with
    :func:`round_half_up`. Cells no region covers (none when the boxes tile the input) get
    -1. A region is visible when it owns at least one cell.
    """
    labels = np.full((height, width), -1, dtype=np.int64)
    corners = round_half_up(np.asarray(boxes, dtype=np.float64) / stride)  # [p, 4]
    corners[:, [0, 2]] = np.clip(corners[:, [0, 2]], 0, width)
    corners[:, [1, 3]] = np.clip(corners[:, [1, 3]], 0, height)
    for i, (cx1, cy1, cx2, cy2) in enumerate(corners):
        labels[cy1:cy2, cx1:cx2] = i
    visible = np.zeros(len(corners), dtype=bool)
    present = np.unique(labels)
    visible[present[present >= 0]] = True
    return labels, visible


@TRANSFORMS.register_module()
class VPMRandomCrop(BaseTransform):
    """VPM's random crop with region labels (vpm.md, section 2.2).

    With probability ``prob`` draws an area ratio ``γ ~ U(ratio_range)``, keeps that
    fraction of the image on one side (``crop_mode``: ``'top'``, ``'bottom'``,
    ``'bilateral'`` = top or bottom with probability 1/2, ``'left'``, ``'right'``,
    ``'horizontal_bilateral'``, or ``'any'`` of the four) and resizes the crop back to the
    input size (the aspect ratio is deliberately not kept). Otherwise the image is left
    whole (``γ = 1``). Full-width crops keep an area ratio equal to the height ratio.

    Added keys:

    - ``gt_region_map`` (H x W uint8): region id 0..p-1 of every pixel (every pixel has
      one), computed at pixel resolution.
    - ``region_visibility`` (p, float32 0/1): regions owning at least one cell of the
      stride-``label_stride`` projection (the paper's visible set V on the feature map;
      with ``label_stride=1`` exactly the ids present in ``gt_region_map``).
    - ``region_boxes`` (p x 4 float32, x1 y1 x2 y2 in output pixels; empty when cut off),
      for heads that project the regions on their own grid with
      :func:`project_region_labels`.
    - ``vpm_crop``: dict(side, ratio, box) of the crop in input pixels.

    ``gt_seg_map`` (nearest) and ``gt_part_fields`` (bilinear) are cropped and resized with
    the image. Flip the holistic image before this transform: the regions are positional.

    Args:
        crop_mode: one of ``'top'``, ``'bottom'``, ``'bilateral'``, ``'left'``,
            ``'right'``, ``'horizontal_bilateral'``, ``'any'``.
        ratio_range: range of the kept area ratio γ (the paper: 0.5 to 1).
        grid: ``(m, n)`` rows and columns of regions; ``(6, 1)`` is the paper's setting.
        label_stride: stride S of the feature map that defines ``region_visibility``.
        prob: probability of cropping.
    """

    def __init__(self,
                 crop_mode: str = 'top',
                 ratio_range: Tuple[float, float] = (0.5, 1.0),
                 grid: Tuple[int, int] = (6, 1),
                 label_stride: int = 16,
                 prob: float = 1.0) -> None:
        if crop_mode not in CROP_MODES:
            raise ValueError(f'VPMRandomCrop: crop_mode must be one of {CROP_MODES}, '
                             f'got {crop_mode!r}')
        low, high = (float(v) for v in ratio_range)
        if not 0.0 < low <= high <= 1.0:
            raise ValueError(f'VPMRandomCrop: ratio_range must satisfy 0 < low <= high <= 1, '
                             f'got {tuple(ratio_range)}')
        m, n = (int(v) for v in grid)
        if m < 1 or n < 1 or m * n > 255:
            raise ValueError(f'VPMRandomCrop: grid must be (m, n) with m, n >= 1 and '
                             f'm * n <= 255, got {tuple(grid)}')
        if label_stride < 1:
            raise ValueError(f'VPMRandomCrop: label_stride must be >= 1, got {label_stride}')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'VPMRandomCrop: prob must be in [0, 1], got {prob}')
        self.crop_mode = crop_mode
        self.ratio_range = (low, high)
        self.grid = (m, n)
        self.label_stride = int(label_stride)
        self.prob = float(prob)

    @property
    def num_regions(self) -> int:
        """Number of regions p = m * n."""
        return self.grid[0] * self.grid[1]

    def sample(self) -> Tuple[str, float]:
        """Draw the crop side and the kept ratio γ (γ = 1 when not cropping)."""
        side = self.crop_mode
        if side in RANDOM_SIDES:
            options = RANDOM_SIDES[side]
            side = options[np.random.randint(len(options))]
        if np.random.rand() >= self.prob:
            return side, 1.0
        return side, float(np.random.uniform(*self.ratio_range))

    def crop_and_label(self, results: dict, side: str, ratio: float) -> dict:
        """Apply a crop of ``ratio`` on ``side`` (deterministic part of the transform)."""
        img = results['img']
        h, w = img.shape[:2]
        box = side_crop_box(h, w, ratio, side)
        x1, y1, x2, y2 = box
        if box != (0, 0, w, h):
            results['img'] = cv2.resize(img[y1:y2, x1:x2], (w, h),
                                        interpolation=cv2.INTER_LINEAR)
            seg = results.get('gt_seg_map')
            if seg is not None:
                results['gt_seg_map'] = cv2.resize(
                    np.ascontiguousarray(seg[y1:y2, x1:x2]), (w, h),
                    interpolation=cv2.INTER_NEAREST)
            fields = results.get('gt_part_fields')  # [K, H, W]
            if fields is not None:
                crop = np.ascontiguousarray(fields[:, y1:y2, x1:x2].transpose(1, 2, 0))
                out = cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR)
                results['gt_part_fields'] = out.reshape(h, w, -1).transpose(2, 0, 1).copy()
        boxes = region_boxes_after_crop(self.grid, (h, w), box, (h, w))  # [p, 4]
        region_map, _ = project_region_labels(boxes, 1, h, w)
        s = self.label_stride
        _, visible = project_region_labels(boxes, s, math.ceil(h / s), math.ceil(w / s))
        results['gt_region_map'] = region_map.astype(np.uint8)
        results['region_visibility'] = visible.astype(np.float32)
        results['region_boxes'] = boxes.astype(np.float32)
        results['vpm_crop'] = dict(side=side, ratio=ratio, box=box)
        results['img_shape'] = (h, w)
        return results

    def transform(self, results: dict) -> Optional[dict]:
        """Crop one sample at random and add its region labels."""
        if 'img' not in results:
            raise KeyError('VPMRandomCrop: no image in the results; load it first')
        side, ratio = self.sample()
        return self.crop_and_label(results, side, ratio)

    def __repr__(self) -> str:
        """Name and arguments."""
        return (f'{type(self).__name__}(crop_mode={self.crop_mode!r}, '
                f'ratio_range={self.ratio_range}, grid={self.grid}, '
                f'label_stride={self.label_stride}, prob={self.prob})')
