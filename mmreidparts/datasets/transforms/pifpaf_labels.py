"""Loading BPBreID's released PifPaf part labels (``[36, h, w]`` confidence fields)."""
import os.path as osp
from pathlib import Path
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmreidparts.registry import TRANSFORMS
from mmreidparts.structures.pifpaf import (
    NUM_PIFPAF_FIELDS,
    group_fields,
    part_maps_to_label_map,
    pifpaf_grouping,
    resolve_pifpaf_scheme,
)
from mmreidparts.utils.errors import CorruptFileError, LabelError

IGNORE_INDEX = 255
# File name suffixes of the releases, tried in this order after the image stem.
PIFPAF_SUFFIXES = ('.npy', '.jpg.npy', '.jpg.confidence_fields.npy', '.png.npy',
                   '.png.confidence_fields.npy', '.tif.npy', '.tif.confidence_fields.npy')
INTERPOLATIONS = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR)


def pifpaf_candidates(img_path: str,
                      masks_dir: str,
                      suffixes: Sequence[str] = PIFPAF_SUFFIXES,
                      max_depth: int = 4) -> List[str]:
    """Paths where the release may store the PifPaf fields of an image, most likely first.

    The release puts the file of ``<root>/<d1>/.../<dn>/<stem>.<ext>`` at
    ``<root>/masks/<masks_dir>/<d1>/.../<dn>/<stem><suffix>``, where ``<root>`` is the
    dataset folder, or drops the last folder ``<dn>`` for datasets with one sub-folder per
    identity (Occluded-ReID, P-DukeMTMC-reID). Each ancestor of the image up to
    ``max_depth`` levels is tried as ``<root>``.
    """
    path = Path(img_path)
    stem = path.stem
    dirs = path.parent.parts
    out: List[str] = []
    for depth in range(1, min(max_depth, len(dirs) - 1) + 1):
        root = Path(*dirs[:len(dirs) - depth])
        rel = dirs[len(dirs) - depth:]
        rel_options = [rel] + ([rel[:-1]] if depth > 1 else [])
        for rel_dirs in rel_options:
            folder = root.joinpath('masks', masks_dir, *rel_dirs)
            out += [str(folder / (stem + s)) for s in suffixes]
    return out


def read_pifpaf_fields(path: str) -> np.ndarray:
    """Read a ``[36, h, w]`` float field file, with an error naming the file and the shape.

    An unreadable file raises :class:`CorruptFileError`; an array of another shape or
    type, or holding NaN or Inf, raises :class:`LabelError`.
    """
    if osp.isfile(path) and osp.getsize(path) == 0:
        raise CorruptFileError(f'PifPaf field file {path} is empty (0 bytes)')
    try:
        fields = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except Exception as err:  # noqa: BLE001 - any decoding failure, named
        raise CorruptFileError(f'cannot read the PifPaf field file {path}: '
                               f'{type(err).__name__}: {err}') from None
    if not isinstance(fields, np.ndarray) or fields.ndim != 3 or \
            fields.shape[0] != NUM_PIFPAF_FIELDS or 0 in fields.shape:
        shape = list(fields.shape) if isinstance(fields, np.ndarray) else type(fields).__name__
        raise LabelError(f'PifPaf field file {path} holds an array of shape {shape}; '
                         f'expected [{NUM_PIFPAF_FIELDS}, h, w] (17 keypoint + 19 connection '
                         'confidence fields, channels first)')
    if fields.dtype.kind not in 'fiub':
        raise LabelError(f'PifPaf field file {path} has dtype {fields.dtype}; expected '
                         'float confidences in [0, 1]')
    fields = fields.astype(np.float32, copy=False)
    if not np.isfinite(fields).all():
        raise LabelError(f'PifPaf field file {path} holds NaN or Inf; expected float '
                         'confidences in [0, 1]')
    return fields


def resize_maps(maps: np.ndarray, height: int, width: int, interpolation: str) -> np.ndarray:
    """Resize ``[C, h, w]`` maps to ``[C, height, width]`` with OpenCV."""
    if maps.shape[1:] == (height, width):
        return maps
    flag = INTERPOLATIONS[interpolation]
    # cv2 handles at most 512 channels at once; PifPaf has 36.
    out = cv2.resize(np.ascontiguousarray(maps.transpose(1, 2, 0)), (width, height),
                     interpolation=flag)  # [H, W, C] (or [H, W] for C == 1)
    if out.ndim == 2:
        out = out[:, :, None]
    return np.ascontiguousarray(out.transpose(2, 0, 1))


@TRANSFORMS.register_module()
class LoadPifPafLabel(BaseTransform):
    """Load BPBreID's released PifPaf fields and turn them into part labels of a scheme.

    The file of an image (``[36, h, w]`` floats in [0, 1], any resolution) is taken from
    ``results['pifpaf_path']``, else from ``results['part_map_path']`` when it ends in
    ``.npy``, else found with :func:`pifpaf_candidates` (the release's naming quirks:
    ``<stem>.npy``, ``<stem>.jpg.npy``, ``<stem>.jpg.confidence_fields.npy``; the
    Occluded-Duke ``pifpaf_maskrcnn_filtering`` folder uses the last one). The fields are
    resized to the image (``img_shape``), grouped into the K parts of ``scheme``
    (pixel-wise max, :func:`mmreidparts.structures.pifpaf.group_fields`) and then

    - ``mode='label'``: thresholded into ``gt_seg_map`` (H x W uint8, 0 = background,
      ``1 + argmax`` where the best part reaches ``threshold``);
    - ``mode='soft'``: kept as ``gt_part_fields`` (K x H x W float32).

    ``part_scheme`` is set to ``scheme``. Put it after the image loading and before any
    geometric transform.

    Args:
        scheme: part scheme (``bpbreid1`` ... ``bpbreid11``, ``bpbreid5v``) or a release
            preset name (``eight``, ``five_v``, ...).
        mode: ``'label'`` or ``'soft'``.
        threshold: background threshold λ_t of BPBreID (0.5).
        masks_dir: folder under ``<dataset>/masks/`` holding the release's files.
        interpolation: ``'nearest'`` (the release) or ``'bilinear'`` resizing of the fields.
        missing: ``'error'`` raises when no file is found; ``'ignore'`` gives a label map
            full of 255 (ignored by the loss) or all-zero soft fields.
    """

    def __init__(self,
                 scheme: str = 'bpbreid8',
                 mode: str = 'label',
                 threshold: float = 0.5,
                 masks_dir: str = 'pifpaf_maskrcnn_filtering',
                 interpolation: str = 'nearest',
                 missing: str = 'error') -> None:
        if mode not in ('label', 'soft'):
            raise ValueError(f"LoadPifPafLabel: mode must be 'label' or 'soft', got {mode!r}")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f'LoadPifPafLabel: interpolation must be one of '
                             f'{sorted(INTERPOLATIONS)}, got {interpolation!r}')
        if missing not in ('error', 'ignore'):
            raise ValueError(f"LoadPifPafLabel: missing must be 'error' or 'ignore', "
                             f'got {missing!r}')
        self.scheme = resolve_pifpaf_scheme(scheme)
        self.num_parts = len(pifpaf_grouping(self.scheme))
        self.mode = mode
        self.threshold = float(threshold)
        self.masks_dir = masks_dir
        self.interpolation = interpolation
        self.missing = missing

    def find_file(self, results: dict) -> Optional[str]:
        """Path of the field file of a record, or None when none exists."""
        for key in ('pifpaf_path', 'part_map_path'):
            path = results.get(key)
            if path and (key == 'pifpaf_path' or str(path).endswith('.npy')):
                if not osp.isfile(path):
                    raise FileNotFoundError(f'LoadPifPafLabel: PifPaf field file {path} '
                                            f'({key} of {results.get("img_path")}) does not '
                                            'exist')
                return str(path)
        img_path = results.get('img_path')
        if img_path is None:
            raise KeyError("LoadPifPafLabel: the record has no 'img_path' key")
        for path in pifpaf_candidates(img_path, self.masks_dir):
            if osp.isfile(path):
                return path
        return None

    def transform(self, results: dict) -> dict:
        """Load, resize, group and (in label mode) threshold the fields of one record."""
        if 'img_shape' not in results:
            raise KeyError('LoadPifPafLabel: no img_shape in the results; load the image '
                           'first (LoadReIDImage)')
        h, w = results['img_shape'][:2]
        path = self.find_file(results)
        if path is None:
            if self.missing == 'error':
                tried = pifpaf_candidates(results['img_path'], self.masks_dir)
                raise FileNotFoundError(
                    f'LoadPifPafLabel: no PifPaf field file for image {results["img_path"]}; '
                    f'expected one of (first 3 of {len(tried)}): {tried[:3]}. Set '
                    "missing='ignore' to train with ignored labels where files are missing.")
            if self.mode == 'label':
                results['gt_seg_map'] = np.full((h, w), IGNORE_INDEX, dtype=np.uint8)
            else:
                results['gt_part_fields'] = np.zeros((self.num_parts, h, w), np.float32)
        else:
            fields = resize_maps(read_pifpaf_fields(path), h, w, self.interpolation)
            parts = group_fields(fields, self.scheme)  # [K, H, W]
            if self.mode == 'label':
                results['gt_seg_map'] = part_maps_to_label_map(parts, self.threshold)
            else:
                results['gt_part_fields'] = parts
        results['part_scheme'] = self.scheme
        results['pifpaf_path'] = path
        return results

    def __repr__(self) -> str:
        """Name and arguments."""
        return (f'{type(self).__name__}(scheme={self.scheme!r}, mode={self.mode!r}, '
                f'threshold={self.threshold}, masks_dir={self.masks_dir!r}, '
                f'interpolation={self.interpolation!r}, missing={self.missing!r})')
