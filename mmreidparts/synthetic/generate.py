"""Writing the synthetic dataset to disk in Market-1501 layout, with part labels and keypoints.

Layout under ``out_dir``::

    bounding_box_train/ query/ bounding_box_test/     PPPP_cCsS_FFFFFF_BB.jpg
    masks/<scheme>/<split dir>/<stem>.png             uint8 part ids of the scheme
    keypoints/<split dir>.json                        COCO keypoints (17 per image)
    meta.json                                         seed, parameters, counts, occluded images

Everything is a function of the parameters: every image draws from random streams seeded
by ``(seed, pid, image index)``, so the files do not depend on ``num_workers``.
"""
import json
import multiprocessing
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ..part_labels.coco_keypoints import coco_document, keypoint_annotation
from ..structures.part_schemes import get_part_scheme
from .appearance import Camera, Identity, sample_cameras, sample_identities
from .render import render_sample

SPLIT_DIRS: Tuple[str, ...] = ('bounding_box_train', 'query', 'bounding_box_test')
DEFAULT_SCHEMES: Tuple[str, ...] = ('atoms13', 'bpbreid5', 'bpbreid8', 'pal7')
DEFAULT_OCCLUSION: Dict[str, float] = {'train': 0.0, 'query': 0.3, 'gallery': 0.1}
FORMAT_VERSION = 1
_NAME_RE = re.compile(r'^(\d{4})_c(\d+)s(\d+)_(\d{6})_(\d{2})(?:\.\w+)?$')
_OCC_KEY = {'bounding_box_train': 'train', 'query': 'query', 'bounding_box_test': 'gallery'}


@dataclass(frozen=True)
class ImageTask:
    """One image to render: where it goes and what it shows."""

    split: str
    stem: str
    identity: Identity
    camera: Camera
    index: int
    occluded: bool


def image_name(pid: int, camid: int, frame: int, seq: int = 1, box: int = 1) -> str:
    """Market-1501 file stem ``PPPP_cCsS_FFFFFF_BB``."""
    return f'{pid:04d}_c{camid}s{seq}_{frame:06d}_{box:02d}'


def parse_image_name(name: str) -> Dict[str, int]:
    """Fields ``pid, camid, seq, frame, box`` of a Market-1501 file name or stem."""
    m = _NAME_RE.match(Path(name).name)
    if m is None:
        raise ValueError(f'not a Market-1501 image name: {name!r}')
    pid, cam, seq, frame, box = (int(g) for g in m.groups())
    return {'pid': pid, 'camid': cam, 'seq': seq, 'frame': frame, 'box': box}


def _images_range(images_per_id: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """Validate ``images_per_id`` and return it as an inclusive ``(min, max)``."""
    lo, hi = ((images_per_id, images_per_id) if isinstance(images_per_id, int)
              else (int(images_per_id[0]), int(images_per_id[1])))
    if not 2 <= lo <= hi <= 99:
        raise ValueError(f'images_per_id must lie in 2..99 (min <= max), got {images_per_id}')
    return lo, hi


def plan_dataset(num_train_ids: int, num_test_ids: int,
                 images_per_id: Union[int, Sequence[int]], seed: int, num_cameras: int,
                 occlusion: Mapping[str, float]) -> List[ImageTask]:
    """All images of the dataset, in a fixed order: split, cameras, queries, occlusion.

    Train ids are ``1..num_train_ids``, test ids follow. Each id is seen by 2 or more
    cameras. A test id gives one query per camera for a proper subset of its cameras, so
    every query has a gallery image of the same id from another camera.
    """
    lo, hi = _images_range(images_per_id)
    if num_cameras < 2:
        raise ValueError('at least 2 cameras are needed')
    if num_train_ids < 0 or num_test_ids < 0 or num_train_ids + num_test_ids > 9999:
        raise ValueError('the number of identities must be in 0..9999')
    idents = sample_identities(num_train_ids + num_test_ids, seed)
    cameras = sample_cameras(num_cameras, seed)
    tasks = []
    for ident in idents:
        pid = ident.pid
        rng = np.random.default_rng([seed, pid, 9001])
        n = int(rng.integers(lo, hi + 1))
        k = int(rng.integers(2, min(num_cameras, n) + 1))
        cams = sorted(int(c) + 1 for c in rng.choice(num_cameras, k, replace=False))
        cam_of = cams + [int(c) for c in rng.choice(cams, n - k)]
        rng.shuffle(cam_of)
        is_test = pid > num_train_ids
        query_idx = set()
        if is_test:
            q = int(rng.integers(1, k))
            for c in rng.choice(cams, q, replace=False):
                query_idx.add(cam_of.index(int(c)))
        occ_rng = np.random.default_rng([seed, pid, 9002])
        for idx, cam in enumerate(cam_of):
            split = ('query' if idx in query_idx else 'bounding_box_test') if is_test \
                else 'bounding_box_train'
            occluded = bool(occ_rng.random() < float(occlusion.get(_OCC_KEY[split], 0.0)))
            stem = image_name(pid, cam, pid * 100 + idx)
            tasks.append(ImageTask(split, stem, ident, cameras[cam - 1], idx, occluded))
    return tasks


def _render_task(job: Tuple[ImageTask, int, Tuple[int, int], Tuple[str, ...], str]) -> dict:
    """Render one image, write it and its label maps; return its keypoint record."""
    task, seed, size, schemes, out_dir = job
    sample = render_sample(task.identity, task.camera, seed, task.index, size, task.occluded)
    root = Path(out_dir)
    cv2.imwrite(str(root / task.split / f'{task.stem}.jpg'), sample.image,
                [cv2.IMWRITE_JPEG_QUALITY, sample.jpeg_quality])
    for name in schemes:
        labels = get_part_scheme(name).from_atoms(sample.atoms)
        cv2.imwrite(str(root / 'masks' / name / task.split / f'{task.stem}.png'), labels)
    kps = sample.keypoints
    flat: List[float] = []
    for x, y, v in kps:
        flat += [float(x), float(y), int(v)]
    return {'split': task.split, 'file_name': f'{task.stem}.jpg', 'pid': task.identity.pid,
            'camid': task.camera.camid, 'keypoints': flat,
            'num_keypoints': int((kps[:, 2] > 0).sum()), 'bbox': list(sample.bbox),
            'occluder': sample.occluder}


def _params(num_train_ids: int, num_test_ids: int, images_per_id: Union[int, Sequence[int]],
            seed: int, img_size: Sequence[int], schemes: Sequence[str],
            occlusion: Mapping[str, float], num_cameras: int) -> dict:
    """The normalised parameters recorded in ``meta.json`` (validated)."""
    lo, hi = _images_range(images_per_id)
    occ = dict(DEFAULT_OCCLUSION)
    unknown = set(occlusion) - set(occ)
    if unknown:
        raise ValueError(f'unknown occlusion keys {sorted(unknown)}; use train/query/gallery')
    occ.update({k: float(v) for k, v in occlusion.items()})
    h, w = (int(v) for v in img_size)
    if h < 32 or w < 16:
        raise ValueError(f'img_size (H, W) too small: {img_size}')
    for name in schemes:
        get_part_scheme(name)
    return {'format_version': FORMAT_VERSION, 'num_train_ids': int(num_train_ids),
            'num_test_ids': int(num_test_ids), 'images_per_id': [lo, hi], 'seed': int(seed),
            'img_size': [h, w], 'schemes': list(schemes), 'occlusion': occ,
            'num_cameras': int(num_cameras)}


def _summary(out_dir: Path, meta: dict, generated: bool, seconds: float) -> dict:
    """The dict returned by ``generate_synthetic_dataset``."""
    return {'out_dir': str(out_dir), 'generated': generated, 'seconds': round(seconds, 2),
            'seed': meta['seed'], 'counts': meta['counts'],
            'num_occluded': len(meta['occluded']), 'schemes': meta['params']['schemes']}


def generate_synthetic_dataset(out_dir: Union[str, Path], num_train_ids: int = 200,
                               num_test_ids: int = 200,
                               images_per_id: Union[int, Sequence[int]] = (6, 12),
                               seed: int = 0, img_size: Sequence[int] = (128, 64),
                               schemes: Sequence[str] = DEFAULT_SCHEMES,
                               occlusion: Optional[Mapping[str, float]] = None,
                               num_cameras: int = 6, num_workers: int = 1,
                               overwrite: bool = False) -> dict:
    """Render the synthetic pedestrian dataset into ``out_dir``; return a summary dict.

    ``images_per_id`` is a count or an inclusive ``(min, max)`` range, ``img_size`` is
    ``(H, W)``, ``occlusion`` the share of occluded images per split (keys ``train``,
    ``query``, ``gallery``; defaults 0, 0.3, 0.1). When ``out_dir/meta.json`` records the
    same parameters, nothing is rendered; with other parameters a FileExistsError is raised
    unless ``overwrite`` (which first deletes the generated folders and files only).
    """
    start = time.perf_counter()
    out = Path(out_dir)
    params = _params(num_train_ids, num_test_ids, images_per_id, seed, img_size, schemes,
                     occlusion or {}, num_cameras)
    meta_path = out / 'meta.json'
    if meta_path.exists() and not overwrite:
        meta = json.loads(meta_path.read_text())
        if meta.get('params') == params:
            return _summary(out, meta, False, time.perf_counter() - start)
        raise FileExistsError(f'{out} holds a synthetic dataset made with other parameters '
                              f'({meta_path}); pass overwrite=True to replace it')
    if overwrite:
        for name in SPLIT_DIRS + ('masks', 'keypoints'):
            if (out / name).is_dir():
                shutil.rmtree(out / name)
        meta_path.unlink(missing_ok=True)
    tasks = plan_dataset(num_train_ids, num_test_ids, images_per_id, seed, num_cameras,
                         params['occlusion'])
    size = tuple(params['img_size'])
    for split in SPLIT_DIRS:
        (out / split).mkdir(parents=True, exist_ok=True)
        (out / 'keypoints').mkdir(parents=True, exist_ok=True)
        for name in schemes:
            (out / 'masks' / name / split).mkdir(parents=True, exist_ok=True)
    jobs = [(t, int(seed), size, tuple(schemes), str(out)) for t in tasks]
    if num_workers > 1:
        chunk = max(1, len(jobs) // (8 * num_workers))
        with multiprocessing.Pool(num_workers) as pool:
            records = pool.map(_render_task, jobs, chunksize=chunk)
    else:
        records = [_render_task(j) for j in jobs]

    counts, occluded = {}, []
    for split in SPLIT_DIRS:
        recs = sorted((r for r in records if r['split'] == split), key=lambda r: r['file_name'])
        images, anns = [], []
        for i, r in enumerate(recs, start=1):
            images.append({'id': i, 'file_name': r['file_name'], 'height': size[0],
                           'width': size[1], 'pid': r['pid'], 'camid': r['camid']})
            anns.append(keypoint_annotation(i, i, np.asarray(r['keypoints']).reshape(17, 3),
                                            bbox=r['bbox'], decimals=None))
            if r['occluder'] is not None:
                occluded.append(f'{split}/{r["file_name"]}')
        coco = coco_document(images, anns, f'mmreidparts synthetic pedestrians, {split}')
        (out / 'keypoints' / f'{split}.json').write_text(json.dumps(coco))
        counts[split] = {'images': len(recs), 'ids': len({r['pid'] for r in recs})}
    meta = {'generator': 'mmreidparts.synthetic', 'seed': int(seed), 'params': params,
            'counts': counts, 'cameras': [c.to_dict() for c in sample_cameras(num_cameras, seed)],
            'occluded': occluded}
    meta_path.write_text(json.dumps(meta, indent=1))
    return _summary(out, meta, True, time.perf_counter() - start)


__all__ = ['SPLIT_DIRS', 'DEFAULT_SCHEMES', 'ImageTask', 'image_name', 'parse_image_name',
           'plan_dataset', 'generate_synthetic_dataset']
