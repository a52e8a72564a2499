"""COCO keypoint JSON files, one per split: ``<keypoint_dir>/<split dir>.json``.

The layout the ``keypoints`` label backend reads (:func:`~.backends.load_coco_keypoints`)
and the label generator and the synthetic renderer write: ``images`` (``id``,
``file_name`` relative to the split folder, ``height``, ``width``), ``annotations`` (one
per person: ``image_id``, 51 ``keypoints`` values ``x, y, v`` in pixels, COCO visibility
flags 0 missing / 1 labelled but hidden / 2 visible) and the COCO ``person`` category. An
image listed without an annotation is one where no person was found.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..structures.coco_person import COCO_KEYPOINTS, COCO_SKELETON

FORMAT_VERSION = 1


def person_category() -> dict:
    """The COCO ``person`` category with its 17 keypoint names and skeleton."""
    return {'id': 1, 'name': 'person', 'supercategory': 'person',
            'keypoints': list(COCO_KEYPOINTS), 'skeleton': [list(p) for p in COCO_SKELETON]}


def keypoint_annotation(ann_id: int, image_id: int, kps: np.ndarray,
                        bbox: Optional[Sequence[float]] = None,
                        decimals: Optional[int] = 2) -> dict:
    """One COCO annotation of a ``[17, 3]`` skeleton; the box spans its keypoints if not given.

    Coordinates are rounded to ``decimals`` places (None keeps them exact).
    """
    kps = np.asarray(kps, dtype=np.float64).reshape(17, 3)

    def num(value: float) -> float:
        return float(value) if decimals is None else round(float(value), decimals)

    flat: List[float] = []
    for x, y, v in kps:
        flat += [num(x), num(y), int(v)]
    if bbox is None:
        seen = kps[kps[:, 2] > 0, :2]
        if len(seen):
            x0, y0 = seen.min(axis=0)
            x1, y1 = seen.max(axis=0)
            bbox = [num(x0), num(y0), num(x1 - x0), num(y1 - y0)]
        else:
            bbox = [0.0, 0.0, 0.0, 0.0]
    return {'id': ann_id, 'image_id': image_id, 'category_id': 1, 'keypoints': flat,
            'num_keypoints': int((kps[:, 2] > 0).sum()), 'bbox': list(bbox),
            'area': float(bbox[2]) * float(bbox[3]), 'iscrowd': 0}


def coco_document(images: List[dict], annotations: List[dict], description: str) -> dict:
    """A COCO keypoint JSON object (``info``, ``images``, ``annotations``, ``categories``)."""
    return {'info': {'description': description, 'version': FORMAT_VERSION},
            'images': images, 'annotations': annotations, 'categories': [person_category()]}


def skeletons_document(entries: Dict[str, dict], description: str) -> dict:
    """A COCO document of ``{file_name: dict(height=, width=, people=[[17, 3], ...])}``.

    Images are numbered 1.. in ``file_name`` order; people in their listed order.
    """
    images, anns = [], []
    for image_id, name in enumerate(sorted(entries), start=1):
        entry = entries[name]
        images.append({'id': image_id, 'file_name': name, 'height': int(entry['height']),
                       'width': int(entry['width'])})
        for kps in entry['people']:
            anns.append(keypoint_annotation(len(anns) + 1, image_id, kps))
    return coco_document(images, anns, description)


def read_skeletons(path: str) -> Dict[str, dict]:
    """``{file_name: dict(height, width, people)}`` of a COCO keypoint file written here.

    Raises a ValueError naming ``path`` when the file is not COCO keypoint JSON.
    """
    from .backends import load_coco_keypoints
    people = load_coco_keypoints(path)
    with open(path, encoding='utf-8') as f:
        coco = json.load(f)
    out = {}
    for img in coco['images']:
        name = osp.normpath(img['file_name'])
        out[name] = dict(height=img.get('height', 0), width=img.get('width', 0),
                         people=people.get(name, []))
    return out


__all__ = ['person_category', 'keypoint_annotation', 'coco_document', 'skeletons_document',
           'read_skeletons']
