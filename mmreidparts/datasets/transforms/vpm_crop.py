"""VPM's self-supervised random crop: the image, its region labels and visible regions.

VPM (vpm.md, section 2.2) splits the holistic pedestrian box into ``m x n`` fixed uniform
regions (default ``6 x 1`` horizontal stripes, index ``i = r * n + c``), crops a random
part of the holistic image, resizes the crop back to the input size and works out where
each region landed. A region rectangle of the holistic image is intersected with the crop
box, shifted by the box corner and scaled by ``output size / box size``; its borders are
then rounded with ``floor(v / S + 0.5)`` on a grid of stride ``S`` (one shared function
for shared borders, so the projected regions tile the grid with no gap or overlap), and a
region is visible when it owns at least one cell. The geometry lives in
:mod:`mmreidparts.structures.region_grid` (re-exported here).

:class:`PartialQueryCrop` is the test-time counterpart: it cuts a query to a fixed ratio
of the body on one side (VPM's synthetic partial protocol) with the same crop boxes.
"""
import math
from typing import Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmreidparts.registry import TRANSFORMS
from mmreidparts.structures.region_grid import (
    CROP_MODES,
    CROP_SIDES,
    RANDOM_SIDES,
    check_crop_ratio,
    check_grid,
    flip_region_order,
    project_region_labels,
    region_boxes_after_crop,
    round_half_up,
    side_crop_box,
)


def move_region_fields(results: dict,
                       scale: Optional[Tuple[float, float]] = None,
                       shift: Optional[Tuple[float, float]] = None,
                       flip: bool = False) -> dict:
    """Move ``region_boxes`` with a geometric transform; recompute ``region_visibility``.

    Called by every geometric transform after it has moved the image, in this order:
    ``scale = (sx, sy)`` multiplies the coordinates, ``shift = (dx, dy)`` is added (then the
    boxes are clipped to the new image), ``flip`` mirrors them horizontally and, for grids
    with ``n > 1`` columns (``region_grid``), renumbers the regions so that the ids stay
    positional (column ``c`` becomes ``n - 1 - c``; ``region_visibility`` follows). The
    visibility is then recomputed on the stride-``region_label_stride`` grid of the new
    image, so a region pushed out of the image by a later pad-crop is no longer visible.
    Records without ``region_boxes`` are left as they are.
    """
    boxes = results.get('region_boxes')
    if boxes is None:
        return results
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()  # [p, 4]
    h, w = results['img'].shape[:2]
    if scale is not None:
        sx, sy = scale
        boxes *= np.array([sx, sy, sx, sy])
    if shift is not None:
        dx, dy = shift
        boxes += np.array([dx, dy, dx, dy])
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
    if flip:
        boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
        grid = results.get('region_grid')
        if grid is not None and grid[1] > 1:
            order = flip_region_order(grid)
            boxes = boxes[order]
            if results.get('region_visibility') is not None:
                results['region_visibility'] = np.asarray(results['region_visibility'])[order]
    results['region_boxes'] = boxes.astype(np.float32)
    stride = results.get('region_label_stride')
    if stride is not None:
        _, visible = project_region_labels(boxes, stride, math.ceil(h / stride),
                                           math.ceil(w / stride))
        results['region_visibility'] = visible.astype(np.float32)
    return results


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
      :func:`project_region_labels` (``VPMHead`` does).
    - ``region_grid`` ``(m, n)`` and ``region_label_stride``: what the later geometric
      transforms need to move the boxes and recompute ``region_visibility``
      (:func:`move_region_fields`).
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
        m, n = check_grid(grid, 'VPMRandomCrop: grid')
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
        results['region_grid'] = self.grid
        results['region_label_stride'] = self.label_stride
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


@TRANSFORMS.register_module()
class PartialQueryCrop(BaseTransform):
    """Cut a query image to ``ratio`` of its body on one ``side`` (no resize).

    The test-time crop of VPM's synthetic partial protocol (vpm.md, section 6): the box
    is :func:`side_crop_box`'s, as in ``make_partial_queries``, and the cropped image is
    left at its new size for the test pipeline's resize, like a cropped query file read
    from disk. ``gt_seg_map``, ``gt_part_fields`` and ``gt_region_map`` are cut with the
    image. Records that are not queries (``is_query`` False) pass unchanged unless
    ``queries_only`` is False. Adds ``partial_crop = dict(side, ratio, box)`` (None when
    the record was left whole).

    Args:
        ratio: the kept fraction γ of the body, in (0, 1].
        side: ``'top'`` (keep the upper γ of the height), ``'bottom'``, ``'left'`` or
            ``'right'``.
        queries_only: crop only records with ``is_query`` True.
    """

    def __init__(self, ratio: float = 1.0, side: str = 'top',
                 queries_only: bool = True) -> None:
        self.ratio = check_crop_ratio(ratio, 'PartialQueryCrop: ratio')
        if side not in CROP_SIDES:
            raise ValueError(f'PartialQueryCrop: side must be one of {CROP_SIDES}, '
                             f'got {side!r}')
        self.side = side
        self.queries_only = bool(queries_only)

    def transform(self, results: dict) -> dict:
        """Cut the image and its label maps of a query record."""
        if 'img' not in results:
            raise KeyError('PartialQueryCrop: no image in the results; load it first')
        if self.queries_only and not results.get('is_query', False):
            results['partial_crop'] = None
            return results
        h, w = results['img'].shape[:2]
        x1, y1, x2, y2 = box = side_crop_box(h, w, self.ratio, self.side)
        results['img'] = np.ascontiguousarray(results['img'][y1:y2, x1:x2])
        for key in ('gt_seg_map', 'gt_region_map'):
            if results.get(key) is not None:
                results[key] = np.ascontiguousarray(results[key][y1:y2, x1:x2])
        if results.get('gt_part_fields') is not None:
            results['gt_part_fields'] = np.ascontiguousarray(
                results['gt_part_fields'][:, y1:y2, x1:x2])
        results['img_shape'] = (y2 - y1, x2 - x1)
        results['partial_crop'] = dict(side=self.side, ratio=self.ratio, box=box)
        return results

    def __repr__(self) -> str:
        """Name and arguments."""
        return (f'{type(self).__name__}(ratio={self.ratio}, side={self.side!r}, '
                f'queries_only={self.queries_only})')


__all__ = [
    'VPMRandomCrop', 'PartialQueryCrop', 'CROP_SIDES', 'CROP_MODES', 'RANDOM_SIDES',
    'round_half_up', 'side_crop_box', 'region_boxes_after_crop', 'project_region_labels',
    'check_crop_ratio', 'flip_region_order', 'move_region_fields'
]
