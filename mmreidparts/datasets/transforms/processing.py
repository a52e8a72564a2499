"""Geometric and erasing transforms that move the label maps with the image.

The label fields carried along are ``gt_seg_map`` (H x W uint8 part ids, 0 = background,
255 = ignore), ``gt_part_fields`` (K x H x W float32 soft part maps, ``LoadPifPafLabel``
in ``mode='soft'``), ``gt_region_map`` (H x W VPM region ids ``0..p-1`` of
``VPMRandomCrop``; :data:`REGION_IGNORE` marks pixels that belong to no region) and
``gt_keypoints`` (17 x 3 COCO keypoints ``x, y, v`` in pixels, ``LoadKeypoints``; a
keypoint moved out of the image, or erased, becomes missing: ``v = 0``, ``x = y = 0``).
VPM's ``region_boxes`` move too, and ``region_visibility`` is recomputed from them
(:func:`~mmreidparts.datasets.transforms.vpm_crop.move_region_fields`).
"""
import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmreidparts.datasets.transforms.pifpaf_labels import resize_maps
from mmreidparts.datasets.transforms.vpm_crop import move_region_fields
from mmreidparts.registry import TRANSFORMS
from mmreidparts.structures.coco_person import COCO_FLIP_PAIRS
from mmreidparts.structures.part_schemes import PartScheme, get_part_scheme
from mmreidparts.structures.region_grid import flip_region_order

# ImageNet mean pixel, RGB order, in [0, 255].
IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)
# Region id of pixels that belong to no VPM region (uint8 form of the -1 that
# ``project_region_labels`` gives to uncovered cells); region 0 is a real stripe.
REGION_IGNORE = 255


def _pair(scale: Sequence[int], name: str) -> Tuple[int, int]:
    """Check a ``(H, W)`` pair of positive ints."""
    if len(scale) != 2 or any(int(s) != s or s <= 0 for s in scale):
        raise ValueError(f'{name} must be a pair (H, W) of positive ints, got {scale!r}')
    return int(scale[0]), int(scale[1])


def _part_fields(results: dict, h: int, w: int, name: str) -> Optional[np.ndarray]:
    """``gt_part_fields`` ``[K, H, W]`` of a record, checked against the image size."""
    fields = results.get('gt_part_fields')
    if fields is not None and (fields.ndim != 3 or fields.shape[1:] != (h, w)):
        raise ValueError(f'{name}: gt_part_fields of {results.get("img_path")} has shape '
                         f'{tuple(fields.shape)}; expected [K, {h}, {w}] like the image')
    return fields


def _region_map(results: dict, h: int, w: int, name: str) -> Optional[np.ndarray]:
    """``gt_region_map`` ``[H, W]`` of a record, checked against the image size."""
    region = results.get('gt_region_map')
    if region is not None and region.shape != (h, w):
        raise ValueError(f'{name}: gt_region_map of {results.get("img_path")} has shape '
                         f'{tuple(region.shape)}; expected ({h}, {w}) like the image')
    return region


def _keypoints(results: dict) -> Optional[np.ndarray]:
    """A float copy of ``gt_keypoints`` ``[17, 3]``, or None."""
    kps = results.get('gt_keypoints')
    if kps is None:
        return None
    kps = np.array(kps, dtype=np.float32)
    if kps.ndim != 2 or kps.shape[1] != 3:
        raise ValueError(f'gt_keypoints of {results.get("img_path")} has shape '
                         f'{tuple(kps.shape)}; expected [K, 3] (x, y, v)')
    return kps


def _drop_outside(kps: np.ndarray, h: int, w: int) -> np.ndarray:
    """Mark keypoints outside ``[0, w] x [0, h]`` (and missing ones) as missing, at (0, 0)."""
    out = (kps[:, 0] < 0) | (kps[:, 0] > w) | (kps[:, 1] < 0) | (kps[:, 1] > h)
    kps[out | (kps[:, 2] <= 0)] = 0.0
    return kps


def _resize_nearest(label: np.ndarray, h: int, w: int) -> np.ndarray:
    """Nearest-neighbour resize of an ``[h0, w0]`` integer map to ``[h, w]``, same dtype."""
    # OpenCV has no 64-bit integer resize; region ids fit int32.
    work = label.astype(np.int32) if label.dtype.itemsize == 8 else label
    return cv2.resize(work, (w, h), interpolation=cv2.INTER_NEAREST).astype(label.dtype)


@TRANSFORMS.register_module()
class ReIDResize(BaseTransform):
    """Resize ``img`` (bilinear) and its label maps to ``scale = (H, W)``.

    ``gt_seg_map`` and ``gt_region_map`` are resized with nearest neighbour (ids are not
    blended), ``gt_part_fields`` bilinearly, channel by channel; ``gt_keypoints`` are
    scaled (continuous pixel coordinates, so ``x`` goes to ``x * W / w0``). Updated keys:
    ``img``, ``img_shape`` and the label fields present; added
    ``scale_factor = (w_scale, h_scale)``.
    """

    def __init__(self, scale: Sequence[int] = (256, 128)) -> None:
        self.scale = _pair(scale, 'ReIDResize scale')

    def transform(self, results: dict) -> dict:
        """Resize the image and its label maps."""
        h, w = self.scale
        img = results['img']
        h0, w0 = img.shape[:2]
        name = type(self).__name__
        fields = _part_fields(results, h0, w0, name)  # [K, h0, w0]
        region = _region_map(results, h0, w0, name)  # [h0, w0]
        if (h0, w0) != (h, w):
            results['img'] = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
            if fields is not None:
                results['gt_part_fields'] = resize_maps(fields, h, w, 'bilinear')  # [K, H, W]
            if region is not None:
                results['gt_region_map'] = _resize_nearest(region, h, w)  # [H, W]
        seg = results.get('gt_seg_map')
        if seg is not None and seg.shape[:2] != (h, w):
            results['gt_seg_map'] = cv2.resize(seg, (w, h), interpolation=cv2.INTER_NEAREST)
        kps = _keypoints(results)
        if kps is not None:
            kps[:, 0] *= w / w0
            kps[:, 1] *= h / h0
            results['gt_keypoints'] = _drop_outside(kps, h, w)
        results['img_shape'] = (h, w)
        results['scale_factor'] = (w / w0, h / h0)
        return move_region_fields(results, scale=(w / w0, h / h0))

    def __repr__(self) -> str:
        """Name and arguments."""
        return f'{type(self).__name__}(scale={self.scale})'


@TRANSFORMS.register_module()
class PadRandomCrop(BaseTransform):
    """Pad by ``padding`` pixels on every side, then crop a random window of the old size.

    Every label field is padded and cropped at the same offset, so each label stays on
    its pixel: ``gt_seg_map`` is padded with ``seg_pad_val`` (background),
    ``gt_part_fields`` with 0 in every channel (no part there), and ``gt_region_map`` with
    ``region_pad_val`` (default :data:`REGION_IGNORE`: the padding lies outside the
    pedestrian box that VPM splits into regions, and id 0 is the top stripe, not
    background). ``gt_keypoints`` shift by ``(padding - left, padding - top)``; those that
    leave the crop become missing. Adds ``crop_offset = (top, left)`` in the padded image
    (``(padding, padding)`` is the identity).
    """

    def __init__(self, padding: int = 10, pad_val: float = 0, seg_pad_val: int = 0,
                 prob: float = 1.0, region_pad_val: int = REGION_IGNORE) -> None:
        if padding < 0:
            raise ValueError(f'PadRandomCrop padding must be >= 0, got {padding}')
        if not 0 <= prob <= 1:
            raise ValueError(f'PadRandomCrop prob must be in [0, 1], got {prob}')
        if int(region_pad_val) != region_pad_val or not 0 <= region_pad_val <= 255:
            raise ValueError('PadRandomCrop region_pad_val must be an int in [0, 255], '
                             f'got {region_pad_val!r}')
        self.padding = int(padding)
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.prob = prob
        self.region_pad_val = int(region_pad_val)

    def _offset(self) -> Tuple[int, int]:
        """Random crop offset ``(top, left)`` in ``[0, 2 * padding]``."""
        if self.prob < 1 and np.random.rand() >= self.prob:
            return self.padding, self.padding
        return (int(np.random.randint(0, 2 * self.padding + 1)),
                int(np.random.randint(0, 2 * self.padding + 1)))

    def transform(self, results: dict) -> dict:
        """Pad and crop the image and its label maps at one random offset."""
        p = self.padding
        top, left = self._offset()
        results['crop_offset'] = (top, left)
        if p == 0:
            return results
        img = results['img']
        h, w = img.shape[:2]
        name = type(self).__name__
        fields = _part_fields(results, h, w, name)  # [K, H, W]
        region = _region_map(results, h, w, name)  # [H, W]
        padded = cv2.copyMakeBorder(img, p, p, p, p, cv2.BORDER_CONSTANT,
                                    value=[self.pad_val] * 4)  # [H + 2p, W + 2p, 3]
        results['img'] = padded[top:top + h, left:left + w]
        seg = results.get('gt_seg_map')
        if seg is not None:
            seg_p = np.pad(seg, p, mode='constant', constant_values=self.seg_pad_val)
            results['gt_seg_map'] = seg_p[top:top + h, left:left + w]
        if fields is not None:
            fields_p = np.pad(fields, ((0, 0), (p, p), (p, p)), mode='constant',
                              constant_values=0)  # [K, H + 2p, W + 2p]
            results['gt_part_fields'] = np.ascontiguousarray(
                fields_p[:, top:top + h, left:left + w])
        if region is not None:
            region_p = np.pad(region, p, mode='constant',
                              constant_values=self.region_pad_val)  # [H + 2p, W + 2p]
            results['gt_region_map'] = region_p[top:top + h, left:left + w]
        kps = _keypoints(results)
        if kps is not None:
            kps[:, 0] += p - left
            kps[:, 1] += p - top
            results['gt_keypoints'] = _drop_outside(kps, h, w)
        return move_region_fields(results, shift=(p - left, p - top))

    def __repr__(self) -> str:
        """Name and arguments."""
        return (f'{type(self).__name__}(padding={self.padding}, pad_val={self.pad_val}, '
                f'seg_pad_val={self.seg_pad_val}, prob={self.prob}, '
                f'region_pad_val={self.region_pad_val})')


@TRANSFORMS.register_module()
class ReIDRandomFlip(BaseTransform):
    """Mirror the image and its label maps horizontally with probability ``prob``.

    The person's left becomes their right, so the label ids of left/right parts of
    ``gt_seg_map`` (H x W) are swapped with
    ``get_part_scheme(results['part_scheme']).flip_lut()``, and the channels of the soft
    fields ``gt_part_fields`` (K x H x W, channel k = part k + 1) are swapped with the
    scheme's ``flip_pairs``. ``gt_region_map`` (H x W) is mirrored; VPM's region ids are
    positions in the box, so with a grid of ``n > 1`` columns (``region_grid`` of
    ``VPMRandomCrop``) column ``c`` becomes ``n - 1 - c`` (the horizontal stripes of
    ``n = 1`` are only mirrored), as if the holistic image had been flipped before the
    crop. ``gt_keypoints`` go to ``x -> W - x`` with the COCO left/right keypoints
    swapped. Sets ``flip`` (and ``flip_direction='horizontal'`` when flipped).
    """

    def __init__(self, prob: float = 0.5) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'ReIDRandomFlip prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        """Flip the image and label map, swapping left/right part ids."""
        flip = bool(np.random.rand() < self.prob)
        results['flip'] = flip
        if not flip:
            return results
        results['flip_direction'] = 'horizontal'
        results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
        seg = results.get('gt_seg_map')
        if seg is not None:
            lut = np.arange(256, dtype=np.uint8)
            flip_lut = self._scheme(results, 'gt_seg_map').flip_lut()
            lut[:len(flip_lut)] = flip_lut
            results['gt_seg_map'] = np.ascontiguousarray(lut[seg[:, ::-1]])
        fields = results.get('gt_part_fields')
        if fields is not None:
            scheme = self._scheme(results, 'gt_part_fields')
            if fields.ndim != 3 or fields.shape[0] != scheme.num_parts:
                raise ValueError(f'ReIDRandomFlip: gt_part_fields of {results.get("img_path")} '
                                 f'has shape {tuple(fields.shape)}; expected [K, H, W] with '
                                 f'K = {scheme.num_parts} parts of {scheme.name!r}')
            order = np.arange(scheme.num_parts)  # channel k holds part k + 1
            for a, b in scheme.flip_pairs:
                order[a - 1], order[b - 1] = b - 1, a - 1
            results['gt_part_fields'] = np.ascontiguousarray(fields[order, :, ::-1])
        region = results.get('gt_region_map')
        if region is not None:
            region = region[..., ::-1]
            grid = results.get('region_grid')
            if grid is not None and grid[1] > 1:  # ids stay positional: c <-> n - 1 - c
                lut = np.arange(256, dtype=np.int64)
                lut[:grid[0] * grid[1]] = flip_region_order(grid)
                region = lut[region].astype(region.dtype)
            results['gt_region_map'] = np.ascontiguousarray(region)
        kps = _keypoints(results)
        if kps is not None:
            if kps.shape[0] != 17:
                raise ValueError(f'ReIDRandomFlip: gt_keypoints of {results.get("img_path")} '
                                 f'has {kps.shape[0]} keypoints; the COCO left/right swap needs '
                                 '17')
            kps[:, 0] = results['img'].shape[1] - kps[:, 0]
            for a, b in COCO_FLIP_PAIRS:
                kps[[a, b]] = kps[[b, a]]
            results['gt_keypoints'] = _drop_outside(kps, *results['img'].shape[:2])
        return move_region_fields(results, flip=True)

    @staticmethod
    def _scheme(results: dict, key: str) -> PartScheme:
        """The part scheme of a record whose ``key`` needs its left/right parts swapped."""
        scheme = results.get('part_scheme')
        if scheme is None:
            raise KeyError(f'ReIDRandomFlip: the record of {results.get("img_path")} has a '
                           f"{key} but no 'part_scheme' to swap left/right parts")
        return get_part_scheme(scheme)

    def __repr__(self) -> str:
        """Name and arguments."""
        return f'{type(self).__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class RandomErasing(BaseTransform):
    """Random erasing (Zhong et al., AAAI 2020) as used by BoT, on the uint8 image.

    With probability ``prob`` one rectangle of area ``uniform(*area_range) * H * W`` and
    aspect ratio ``h / w = uniform(min_aspect, max_aspect)`` is erased (up to
    ``max_attempts`` draws until it fits). ``mode='const'`` fills it with ``fill`` (default
    the ImageNet mean pixel in the image's channel order, which is 0 after
    normalisation), ``mode='random'`` with uniform random pixels. Label pixels in the
    rectangle become background: ``seg_fill`` (0; 255 makes them ignored, None leaves the
    part labels as they are) in ``gt_seg_map`` and 0 in every channel
    of ``gt_part_fields``; ``gt_keypoints`` inside it become missing. ``gt_region_map`` is
    left as it is: VPM regions are positions in the pedestrian box, which erasing does not
    move. Adds
    ``erase_box = (top, left, h, w)`` or None.

    Args:
        prob: probability of erasing.
        area_range: range of the erased fraction of the image area.
        min_aspect: smallest aspect ratio ``h / w``.
        max_aspect: largest aspect ratio; default ``1 / min_aspect``.
        mode: ``'const'`` or ``'random'``.
        fill: constant fill value(s) in the image's channel order; None = ImageNet mean.
        channel_order: ``'bgr'`` (as loaded by LoadReIDImage) or ``'rgb'``.
        seg_fill: value written into ``gt_seg_map`` under the rectangle, or None to keep
            the labels (the model must then infer the parts under the occluder).
        max_attempts: draws before giving up on this image.
    """

    def __init__(self,
                 prob: float = 0.5,
                 area_range: Tuple[float, float] = (0.02, 0.4),
                 min_aspect: float = 0.3,
                 max_aspect: Optional[float] = None,
                 mode: str = 'const',
                 fill: Optional[Sequence[float]] = None,
                 channel_order: str = 'bgr',
                 seg_fill: Optional[int] = 0,
                 max_attempts: int = 100) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomErasing prob must be in [0, 1], got {prob}')
        if not 0 < area_range[0] <= area_range[1] <= 1:
            raise ValueError('RandomErasing area_range must satisfy 0 < low <= high <= 1, '
                             f'got {area_range}')
        max_aspect = 1.0 / min_aspect if max_aspect is None else max_aspect
        if not 0 < min_aspect <= max_aspect:
            raise ValueError('RandomErasing needs 0 < min_aspect <= max_aspect, got '
                             f'{min_aspect}, {max_aspect}')
        if mode not in ('const', 'random'):
            raise ValueError(f"RandomErasing mode must be 'const' or 'random', got {mode!r}")
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"RandomErasing channel_order must be 'bgr' or 'rgb', "
                             f'got {channel_order!r}')
        if fill is None:
            mean = IMAGENET_MEAN_RGB if channel_order == 'rgb' else IMAGENET_MEAN_RGB[::-1]
            fill = tuple(int(round(v)) for v in mean)
        self.prob = prob
        self.area_range = tuple(area_range)
        self.min_aspect = min_aspect
        self.max_aspect = max_aspect
        self.mode = mode
        self.fill = tuple(fill)
        self.channel_order = channel_order
        self.seg_fill = seg_fill
        self.max_attempts = max_attempts

    def _box(self, h: int, w: int) -> Optional[Tuple[int, int, int, int]]:
        """Draw a rectangle ``(top, left, height, width)`` that fits, or None."""
        if np.random.rand() >= self.prob:
            return None
        for _ in range(self.max_attempts):
            area = np.random.uniform(*self.area_range) * h * w
            aspect = np.random.uniform(self.min_aspect, self.max_aspect)
            eh = int(round(math.sqrt(area * aspect)))
            ew = int(round(math.sqrt(area / aspect)))
            if 0 < eh < h and 0 < ew < w:
                top = int(np.random.randint(0, h - eh + 1))
                left = int(np.random.randint(0, w - ew + 1))
                return top, left, eh, ew
        return None

    def transform(self, results: dict) -> dict:
        """Erase one random rectangle of the image and set its labels to background."""
        img = results['img']
        fields = _part_fields(results, *img.shape[:2], type(self).__name__)  # [K, H, W]
        box = self._box(*img.shape[:2])
        results['erase_box'] = box
        if box is None:
            return results
        top, left, eh, ew = box
        img = img.copy()
        if self.mode == 'const':
            img[top:top + eh, left:left + ew] = np.asarray(self.fill, dtype=img.dtype)
        else:
            shape = (eh, ew) + img.shape[2:]
            if img.dtype == np.uint8:
                img[top:top + eh, left:left + ew] = np.random.randint(0, 256, shape)
            else:
                img[top:top + eh, left:left + ew] = np.random.uniform(0, 255, shape)
        results['img'] = img
        seg = results.get('gt_seg_map')
        if seg is not None and self.seg_fill is not None:
            seg = seg.copy()
            seg[top:top + eh, left:left + ew] = self.seg_fill
            results['gt_seg_map'] = seg
        if fields is not None:
            fields = fields.copy()
            fields[:, top:top + eh, left:left + ew] = 0
            results['gt_part_fields'] = fields
        kps = _keypoints(results)
        if kps is not None:
            inside = ((kps[:, 0] >= left) & (kps[:, 0] < left + ew) &
                      (kps[:, 1] >= top) & (kps[:, 1] < top + eh))
            kps[inside] = 0.0
            results['gt_keypoints'] = kps
        return results

    def __repr__(self) -> str:
        """Name and arguments."""
        return (f'{type(self).__name__}(prob={self.prob}, area_range={self.area_range}, '
                f'min_aspect={self.min_aspect}, max_aspect={self.max_aspect}, '
                f'mode={self.mode!r}, fill={self.fill})')
