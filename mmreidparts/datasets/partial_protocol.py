"""VPM's synthetic partial protocol: a Market-format copy whose queries are cropped.

VPM (vpm.md, section 6) evaluates on Market-1501 and DukeMTMC-reID with every query
cropped to a fixed ratio γ of the body (0.5 ... 1.0) while the gallery stays holistic.
:func:`make_partial_queries` writes such a copy: ``query/`` holds the cropped images under
their original names (not resized: the test pipeline resizes them as any query), the
gallery and train folders are linked or copied, and ``partial_crops.json`` records the
crop of every query. Part label files (``masks/<scheme>/<query dir>/<stem>.png``, see
docs/design.md) of the queries are cropped with the same box; those of the other folders
are linked or copied. The result is deterministic for a given seed, and it reads with the
same dataset class as the source (``data_root`` = the output folder).
"""
import json
import os
import os.path as osp
import shutil
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from mmreidparts.structures.region_grid import CROP_SIDES, RANDOM_SIDES, side_crop_box

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif')
LABEL_SUFFIX = '.png'
LINK_MODES = ('symlink', 'copy', 'hardlink')
MANIFEST = 'partial_crops.json'


def _transfer(src: str, dst: str, link: str) -> None:
    """Make ``dst`` a symlink, hard-linked copy or plain copy of the folder ``src``."""
    if link == 'symlink':
        os.symlink(osp.abspath(src), dst, target_is_directory=True)
    elif link == 'copy':
        shutil.copytree(src, dst)
    else:
        shutil.copytree(src, dst, copy_function=os.link)


def make_partial_queries(src_root: str,
                         dst_root: str,
                         ratio: Union[float, Tuple[float, float]] = 0.5,
                         side: str = 'top',
                         seed: int = 0,
                         link: str = 'symlink',
                         query_dir: str = 'query',
                         other_dirs: Sequence[str] = ('bounding_box_test',
                                                      'bounding_box_train'),
                         overwrite: bool = False,
                         label_dir: str = 'masks') -> Dict[str, dict]:
    """Write a copy of a Market-format dataset with every query cropped to ``ratio``.

    Args:
        src_root: the source dataset folder (holding ``query_dir`` and ``other_dirs``).
        dst_root: the output folder (created; must not exist unless ``overwrite``).
        ratio: the kept fraction γ of the body, or a range ``(low, high)`` sampled per
            query.
        side: ``'top'`` (VPM's default: keep the upper γ), ``'bottom'``, ``'left'``,
            ``'right'``, or ``'bilateral'`` / ``'horizontal_bilateral'`` / ``'any'`` (side
            drawn per query).
        seed: seed of the draws (sides and ratios), taken in sorted file-name order.
        link: how the other folders are reproduced: ``'symlink'``, ``'hardlink'`` or
            ``'copy'``. Missing other folders are skipped.
        query_dir: name of the query folder.
        other_dirs: folders reproduced unchanged (gallery, train).
        overwrite: replace an existing ``dst_root``.
        label_dir: folder of the part labels under ``src_root``. For every scheme folder
            ``<label_dir>/<scheme>/``, the query label files ``<query_dir>/<stem>.png``
            that exist are cropped with their query's box (scaled when the label map is
            not the image's size) and the ``other_dirs`` label folders are reproduced as
            the image folders.

    Returns:
        ``{query file name: dict(box=[x1, y1, x2, y2], side, ratio, size=[h, w])}``, also
        written with the arguments to ``<dst_root>/partial_crops.json`` (with
        ``part_labels``: the number of query label files cropped per scheme).
    """
    if link not in LINK_MODES:
        raise ValueError(f'link must be one of {LINK_MODES}, got {link!r}')
    if side not in CROP_SIDES and side not in RANDOM_SIDES:
        raise ValueError(f'side must be one of {CROP_SIDES + tuple(RANDOM_SIDES)}, got {side!r}')
    low, high = (ratio, ratio) if np.isscalar(ratio) else tuple(ratio)
    if not 0.0 < float(low) <= float(high) <= 1.0:
        raise ValueError(f'ratio must be in (0, 1] (or a range within it), got {ratio!r}')
    src_query = osp.join(src_root, query_dir)
    if not osp.isdir(src_query):
        raise FileNotFoundError(f'the query folder {src_query} does not exist; expected a '
                                f'Market-format dataset ({query_dir}/, '
                                f'{", ".join(other_dirs)}) in {src_root}')
    if osp.lexists(dst_root):
        if not overwrite:
            raise FileExistsError(f'the output folder {dst_root} exists; remove it or pass '
                                  'overwrite=True')
        if osp.islink(dst_root) or not osp.isdir(dst_root):
            os.remove(dst_root)
        else:
            shutil.rmtree(dst_root)
    names = sorted(n for n in os.listdir(src_query) if n.lower().endswith(IMG_EXTS))
    if not names:
        raise ValueError(f'no images ({"/".join(IMG_EXTS)}) in the query folder {src_query}')

    os.makedirs(osp.join(dst_root, query_dir))
    rng = np.random.default_rng(seed)
    crops: Dict[str, dict] = {}
    for name in names:
        path = osp.join(src_query, name)
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise ValueError(f'cannot decode the query image {path}')
        this_side = side
        if side in RANDOM_SIDES:
            options = RANDOM_SIDES[side]
            this_side = options[int(rng.integers(len(options)))]
        gamma = float(low) if low == high else float(rng.uniform(low, high))
        h, w = img.shape[:2]
        x1, y1, x2, y2 = side_crop_box(h, w, gamma, this_side)
        out = osp.join(dst_root, query_dir, name)
        if not cv2.imwrite(out, img[y1:y2, x1:x2]):
            raise OSError(f'cannot write the cropped query {out}')
        crops[name] = dict(box=[x1, y1, x2, y2], side=this_side, ratio=gamma, size=[h, w])

    for folder in other_dirs:
        src = osp.join(src_root, folder)
        if osp.isdir(src):
            _transfer(src, osp.join(dst_root, folder), link)
    labels = _crop_part_labels(src_root, dst_root, label_dir, query_dir, other_dirs, crops,
                               link)
    manifest = dict(source=osp.abspath(src_root), ratio=ratio if np.isscalar(ratio)
                    else [float(low), float(high)], side=side, seed=seed, query_dir=query_dir,
                    part_labels=labels, crops=crops)
    with open(osp.join(dst_root, MANIFEST), 'w') as f:
        json.dump(manifest, f, indent=1)
    return crops


def scale_box(box: Sequence[int], size: Sequence[int],
              new_size: Sequence[int]) -> Tuple[int, int, int, int]:
    """Box ``(x1, y1, x2, y2)`` of an image of ``size = (h, w)`` in a map of ``new_size``.

    Corners are scaled and rounded half up; the box keeps at least one pixel.
    """
    (h, w), (nh, nw) = size, new_size
    x1, y1 = int(box[0] * nw / w + 0.5), int(box[1] * nh / h + 0.5)
    x2, y2 = int(box[2] * nw / w + 0.5), int(box[3] * nh / h + 0.5)
    x1, y1 = min(x1, nw - 1), min(y1, nh - 1)
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


def _crop_part_labels(src_root: str, dst_root: str, label_dir: str, query_dir: str,
                      other_dirs: Sequence[str], crops: Dict[str, dict],
                      link: str) -> Dict[str, int]:
    """Crop the query label files of every scheme; return the count cropped per scheme."""
    src_labels = osp.join(src_root, label_dir)
    if not osp.isdir(src_labels):
        return {}
    counts: Dict[str, int] = {}
    for scheme in sorted(os.listdir(src_labels)):
        src_scheme = osp.join(src_labels, scheme)
        if not osp.isdir(src_scheme):
            continue
        dst_scheme = osp.join(dst_root, label_dir, scheme)
        src_query = osp.join(src_scheme, query_dir)
        count = 0
        for name, crop in crops.items():
            path = osp.join(src_query, osp.splitext(name)[0] + LABEL_SUFFIX)
            if not osp.isfile(path):
                continue
            label = cv2.imread(path, cv2.IMREAD_UNCHANGED)  # [h, w] ids
            if label is None:
                raise ValueError(f'cannot decode the part label file {path} (of query {name})')
            x1, y1, x2, y2 = scale_box(crop['box'], crop['size'], label.shape[:2])
            out = osp.join(dst_scheme, query_dir, osp.basename(path))
            os.makedirs(osp.dirname(out), exist_ok=True)
            if not cv2.imwrite(out, label[y1:y2, x1:x2]):
                raise OSError(f'cannot write the cropped part label file {out}')
            count += 1
        for folder in other_dirs:
            src = osp.join(src_scheme, folder)
            if osp.isdir(src):
                os.makedirs(dst_scheme, exist_ok=True)
                _transfer(src, osp.join(dst_scheme, folder), link)
        counts[scheme] = count
    return counts


def load_partial_crops(root: str) -> Optional[Dict[str, dict]]:
    """The crops recorded by :func:`make_partial_queries` in ``root``, or None if absent."""
    path = osp.join(root, MANIFEST)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)['crops']


__all__ = ['make_partial_queries', 'load_partial_crops', 'scale_box']
