"""Loading transforms: the image, its body-part label map and its pose keypoints."""
import io
import os.path as osp
import warnings
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from mmreidparts.registry import TRANSFORMS
from mmreidparts.structures.part_schemes import get_part_scheme, regroup_lut
from mmreidparts.utils.errors import CorruptFileError, LabelError

IGNORE_INDEX = 255


_JPEG_SOI = b'\xff\xd8'
_JPEG_EOI = b'\xff\xd9'
_TRAILING_PADDING = b'\x00\r\n\t \x1a'
_DECODE_FLAGS = cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH  # 3 channels, EXIF orientation
# Images claiming more pixels are refused before decoding (a corrupt header would make
# the decoder allocate gigabytes); 8192 x 8192, far above any person crop.
MAX_IMAGE_PIXELS = 1 << 26
_HEADER_FORMATS = ('JPEG', 'PNG', 'BMP', 'TIFF')  # those of the datasets' image files


def header_size(data: np.ndarray) -> Optional[Tuple[int, int]]:
    """``(width, height)`` from the header of encoded image bytes, or None if unknown."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # PIL warns about very large sizes
            with Image.open(io.BytesIO(data.tobytes()), formats=_HEADER_FORMATS) as im:
                return im.size
    except Exception:  # noqa: BLE001 - an unreadable header is the decoder's to report
        return None


def truncation(data: np.ndarray) -> Optional[str]:
    """Why the encoded image ``data`` (uint8 bytes) is cut short, or None when it looks whole.

    A JPEG must end with its end-of-image marker (padding bytes allowed after it):
    libjpeg decodes a truncated file without an error, filling the missing rows with
    grey. Other formats fail to decode when truncated.
    """
    head = data[:2].tobytes()
    if head == _JPEG_SOI:
        tail = data[-64:].tobytes().rstrip(_TRAILING_PADDING)
        if not tail.endswith(_JPEG_EOI):
            return 'the JPEG data ends without its end-of-image marker (FF D9)'
    return None


def read_image(path: str, check_truncated: bool = True) -> np.ndarray:
    """Read an image file as ``[H, W, 3]`` uint8 BGR, or raise an error naming the file.

    Grey images are repeated over three channels, the alpha channel of RGBA images is
    dropped, EXIF orientation is applied, 16-bit images are scaled to 8 bits
    (``round(v * 255 / 65535)``). Empty, truncated (see :func:`truncation`) and undecodable
    files raise :class:`CorruptFileError`; float images are refused the same way.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'image file {path} does not exist')
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise CorruptFileError(f'image file {path} is empty (0 bytes)')
    size = header_size(data)
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise CorruptFileError(f'image file {path} claims {size[0]}x{size[1]} pixels, more '
                               f'than {MAX_IMAGE_PIXELS}; corrupt header or not a person '
                               'crop')
    try:
        img = cv2.imdecode(data, _DECODE_FLAGS)  # [H, W, 3] BGR, uint8 or uint16
    except cv2.error:  # e.g. a size in the header beyond OpenCV's limits
        img = None
    if img is None:
        raise CorruptFileError(f'cannot decode the image file {path} (corrupt, truncated or '
                               f'not an image; {data.size} bytes)')
    if check_truncated:
        reason = truncation(data)
        if reason is not None:
            raise CorruptFileError(f'image file {path} is truncated: {reason} '
                                   f'({data.size} bytes)')
    if img.dtype == np.uint16:
        img = ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise CorruptFileError(f'image file {path} holds {img.dtype} pixels; expected an 8- or '
                               '16-bit integer image')
    return img


@TRANSFORMS.register_module()
class LoadReIDImage(BaseTransform):
    """Read ``results['img_path']`` into ``img`` (H x W x 3 uint8, BGR) with :func:`read_image`.

    Added keys: ``img``, ``img_shape`` and ``ori_shape`` (both ``(H, W)``). Grey, RGBA,
    16-bit and EXIF-rotated images are converted (see :func:`read_image`); an empty,
    truncated or undecodable file raises :class:`CorruptFileError` naming it.

    Args:
        to_float32: convert the image to float32 (default keeps uint8).
        check_truncated: refuse JPEG files without their end marker (libjpeg would decode
            them with grey rows); False accepts them, e.g. for files with trailing data.
    """

    def __init__(self, to_float32: bool = False, check_truncated: bool = True) -> None:
        self.to_float32 = to_float32
        self.check_truncated = check_truncated

    def transform(self, results: dict) -> dict:
        """Load the image of ``results['img_path']``."""
        path = results.get('img_path')
        if path is None:
            raise KeyError("LoadReIDImage: the record has no 'img_path' key")
        if not osp.isfile(path):
            raise FileNotFoundError(f'LoadReIDImage: image file {path} does not exist')
        img = read_image(path, self.check_truncated)  # [H, W, 3] BGR
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        """Name and arguments."""
        return (f'{type(self).__name__}(to_float32={self.to_float32}, '
                f'check_truncated={self.check_truncated})')


def read_label_map(path: str) -> np.ndarray:
    """Read a label map (single-channel or palette PNG/any PIL image, or 2-D ``.npy``).

    A file that cannot be decoded raises :class:`CorruptFileError`, one whose content is
    no map of integer ids :class:`LabelError`; both name the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'part label file {path} does not exist')
    if osp.getsize(path) == 0:
        raise CorruptFileError(f'part label file {path} is empty (0 bytes)')
    if path.lower().endswith('.npy'):
        try:
            label = np.load(path, allow_pickle=False)
        except Exception as err:  # noqa: BLE001 - any decoding failure, named
            raise CorruptFileError(f'cannot read the part label file {path}: '
                                   f'{type(err).__name__}: {err}') from None
        if not isinstance(label, np.ndarray):
            raise LabelError(f'part label file {path} holds a {type(label).__name__}; '
                             'expected an [H, W] array of integer part ids')
        if label.ndim == 3 and label.shape[0] == 1:
            label = label[0]
        if label.ndim != 2 or label.size == 0:
            raise LabelError(f'part label file {path} holds an array of shape '
                             f'{label.shape}; expected an [H, W] map of integer part ids')
        if label.dtype.kind == 'f':
            if not np.all(np.isfinite(label)) or np.any(label != np.round(label)):
                raise LabelError(f'part label file {path} holds non-integer values; '
                                 'expected integer part ids')
        elif label.dtype.kind not in 'iub':
            raise LabelError(f'part label file {path} has dtype {label.dtype}; '
                             'expected integer part ids')
        return label.astype(np.int64)
    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode in ('L', 'P', 'I', 'I;16', '1'):
                label = np.array(im)
    except Exception as err:  # noqa: BLE001 - any decoding failure, named
        raise CorruptFileError(f'cannot decode the part label file {path}: '
                               f'{type(err).__name__}: {err}') from None
    if mode not in ('L', 'P', 'I', 'I;16', '1'):
        raise LabelError(f'part label file {path} is a {mode} image; expected a '
                         'single-channel (L, P or I) map of part ids')
    if label.ndim != 2 or label.size == 0:
        raise LabelError(f'part label file {path} decodes to shape {label.shape}; expected '
                         'an [H, W] map of part ids')
    return label.astype(np.int64)


@TRANSFORMS.register_module()
class LoadPartLabel(BaseTransform):
    """Load the record's part label map into ``gt_seg_map`` (H x W uint8).

    Ids follow the record's ``part_scheme`` (0 = background, 1..K parts, 255 = ignore).
    A file stored in ``part_source_scheme`` (record key, or the ``source_scheme``
    argument) is regrouped into ``part_scheme``. The map is resized with nearest
    neighbour to the image size, so ``LoadReIDImage`` must come first. A record whose
    ``part_map_path`` is None (optional labels) gets a map full of ``ignore_index``.

    Args:
        source_scheme: scheme of the stored files, overriding the record's
            ``part_source_scheme``; None = use the record.
        ignore_index: value that marks unlabelled pixels; kept as is in files.
        empty_as_ignore: a map without any part pixel (the label generator found no
            person) becomes all ``ignore_index`` instead of all background, so that it
            does not teach "background everywhere" to a part classifier.
        aspect_tolerance: a map of another size than the image is resized only when its
            aspect ratio is within this relative difference of the image's (a scaled
            copy); otherwise it is the map of another image, or transposed, and raises
            :class:`LabelError`. None resizes any map.
    """

    def __init__(self, source_scheme: Optional[str] = None,
                 ignore_index: int = IGNORE_INDEX,
                 empty_as_ignore: bool = False,
                 aspect_tolerance: Optional[float] = 0.1) -> None:
        if source_scheme is not None:
            get_part_scheme(source_scheme)
        if not 0 <= ignore_index <= 255:
            raise ValueError(f'LoadPartLabel: ignore_index must fit uint8, got {ignore_index}')
        if aspect_tolerance is not None and aspect_tolerance < 0:
            raise ValueError(f'LoadPartLabel: aspect_tolerance must be >= 0 or None, got '
                             f'{aspect_tolerance}')
        self.source_scheme = source_scheme
        self.ignore_index = ignore_index
        self.empty_as_ignore = empty_as_ignore
        self.aspect_tolerance = aspect_tolerance

    def transform(self, results: dict) -> dict:
        """Read, check, regroup and resize the label map of one record."""
        scheme = results.get('part_scheme')
        if scheme is None:
            raise KeyError(f'LoadPartLabel: the record of {results.get("img_path")} has no '
                           "'part_scheme'; configure part_labels=dict(scheme=...) in the "
                           'dataset')
        if 'img_shape' not in results:
            raise KeyError('LoadPartLabel: no img_shape in the results; put LoadReIDImage '
                           'before LoadPartLabel')
        h, w = results['img_shape'][:2]
        path = results.get('part_map_path')
        if path is None:
            results['gt_seg_map'] = np.full((h, w), self.ignore_index, dtype=np.uint8)
            return results

        source = self.source_scheme or results.get('part_source_scheme') or scheme
        num_parts = get_part_scheme(source).num_parts
        label = read_label_map(path)  # [h0, w0] int64
        self._check_size(label.shape, (h, w), path, results.get('img_path'))
        valid = label[label != self.ignore_index]
        if valid.size and (valid.min() < 0 or valid.max() > num_parts):
            bad = int(valid.max()) if valid.max() > num_parts else int(valid.min())
            raise LabelError(f'part label file {path} holds id {bad}, but its scheme '
                             f'{source!r} has K={num_parts} parts (valid ids 0..{num_parts}, '
                             f'{self.ignore_index} = ignore)')
        if self.empty_as_ignore and not ((label > 0) & (label != self.ignore_index)).any():
            results['gt_seg_map'] = np.full((h, w), self.ignore_index, dtype=np.uint8)
            return results
        lut = np.full(256, self.ignore_index, dtype=np.uint8)
        if source != scheme:
            lut[:num_parts + 1] = regroup_lut(source, scheme)
        else:
            lut[:num_parts + 1] = np.arange(num_parts + 1, dtype=np.uint8)
        label = lut[label.astype(np.uint8)]  # [h0, w0] uint8 ids of ``scheme``
        if label.shape != (h, w):
            label = cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST)
        results['gt_seg_map'] = label
        return results

    def _check_size(self, shape: Tuple[int, ...], image: Tuple[int, int], path: str,
                    img_path: Optional[str]) -> None:
        """Raise a LabelError when a map of another size is no scaled copy of the image's."""
        if tuple(shape) == tuple(image) or self.aspect_tolerance is None:
            return
        (h0, w0), (h, w) = shape, image
        change = (h0 / w0) / (h / w)
        if max(change, 1 / change) > 1 + self.aspect_tolerance:
            raise LabelError(
                f'part label file {path} is {w0}x{h0} (WxH) but its image {img_path} is '
                f'{w}x{h}: the aspect ratios differ by {abs(change - 1):.0%} (more than '
                f'{self.aspect_tolerance:.0%}), so it is not a scaled copy of the image\'s '
                'labels (transposed, or of another image?); LoadPartLabel('
                'aspect_tolerance=None) resizes it anyway')

    def __repr__(self) -> str:
        """Name and arguments."""
        return (f'{type(self).__name__}(source_scheme={self.source_scheme!r}, '
                f'ignore_index={self.ignore_index}, empty_as_ignore={self.empty_as_ignore}, '
                f'aspect_tolerance={self.aspect_tolerance})')


@TRANSFORMS.register_module()
class LoadKeypoints(BaseTransform):
    """Load the record's 17 COCO pose keypoints into ``gt_keypoints`` (17 x 3 float32).

    Keypoints are read from COCO keypoint JSON files, one per split folder
    (``<keypoint_dir>/<split dir>.json``, ``file_name`` relative to the split folder: the
    layout the label generator writes with ``--save-keypoints`` and the synthetic renderer
    writes), for a dataset in Market layout (the image's folder is its split). Of several
    people the one whose head is nearest the top centre of the box is taken, as the label
    backends do. An image listed without a person, or not listed, gets all keypoints
    missing (``v = 0``), which supervises nothing. The geometric transforms move
    ``gt_keypoints`` with the image (``VPMRandomCrop`` does not).

    Args:
        keypoint_dir: folder of the JSON files; None = ``<dataset root>/keypoints``, the
            root being the parent of the image's split folder.
        missing: 'zeros' (an image not in its split's file gets missing keypoints) or
            'error'.
    """

    _cache: Dict[str, Dict[str, List[np.ndarray]]] = {}

    def __init__(self, keypoint_dir: Optional[str] = None, missing: str = 'zeros') -> None:
        if missing not in ('zeros', 'error'):
            raise ValueError(f"LoadKeypoints: missing must be 'zeros' or 'error', got {missing!r}")
        self.keypoint_dir = keypoint_dir
        self.missing = missing

    def _file_of(self, img_path: str) -> str:
        """The keypoint file of an image's split."""
        split_dir = osp.dirname(osp.abspath(img_path))
        folder = self.keypoint_dir or osp.join(osp.dirname(split_dir), 'keypoints')
        return osp.join(folder, osp.basename(split_dir) + '.json')

    @classmethod
    def _people(cls, path: str) -> Dict[str, List[np.ndarray]]:
        """``{file_name: [[17, 3] arrays]}`` of a keypoint file, read once per process."""
        if path not in cls._cache:
            if not osp.isfile(path):
                raise FileNotFoundError(f'LoadKeypoints: keypoint file {path} does not exist '
                                        '(COCO keypoint JSON per split, written by '
                                        'generate_part_labels.py --save-keypoints)')
            from mmreidparts.part_labels.backends import load_coco_keypoints
            cls._cache[path] = load_coco_keypoints(path)
        return cls._cache[path]

    def transform(self, results: dict) -> dict:
        """Add ``gt_keypoints`` of the record's target person."""
        from mmreidparts.part_labels.skeleton import select_target
        img_path = results.get('img_path')
        if img_path is None:
            raise KeyError("LoadKeypoints: the record has no 'img_path' key")
        if 'img_shape' not in results:
            raise KeyError('LoadKeypoints: no img_shape in the results; put LoadReIDImage '
                           'before LoadKeypoints')
        path = self._file_of(img_path)
        people = self._people(path)
        name = osp.basename(img_path)
        if name not in people and self.missing == 'error':
            raise KeyError(f'LoadKeypoints: {path} does not list the image {name}')
        found = people.get(name, [])
        h, w = results['img_shape'][:2]
        idx = select_target(found, w, h)
        kps = np.zeros((17, 3), np.float32) if idx is None else \
            np.asarray(found[idx], dtype=np.float32)
        results['gt_keypoints'] = kps
        return results

    def __repr__(self) -> str:
        """Name and arguments."""
        return (f'{type(self).__name__}(keypoint_dir={self.keypoint_dir!r}, '
                f'missing={self.missing!r})')
