"""Label backends: turn one input (image or field file) into label maps of several schemes.

A backend is built cheaply in the parent process, pickled to each worker and set up
there once (``setup``), so heavy models load once per process. ``label_maps`` returns one
``[H, W]`` uint8 map per requested scheme; an all-zero map means no person was found.
"""
import json
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmreidparts.structures.part_schemes import PartScheme

from .skeleton import CapsuleWidths, assign_atoms, select_target

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


class UnreadableInputError(Exception):
    """An input file (image, field file) that cannot be decoded."""


@dataclass(frozen=True)
class LabelTask:
    """One input to label.

    Attributes:
        split: split folder name (e.g. ``bounding_box_train``).
        src: absolute path of the input (an image, or a ``.npy`` field file).
        name: path of the input relative to its split folder (as in COCO ``file_name``).
        out: output path relative to ``<masks>/<scheme>/<split>/``, without extension.
        image: absolute path of the image, when known (used by visualisation).
    """
    split: str
    src: str
    name: str
    out: str
    image: Optional[str] = None


def read_image(path: str) -> np.ndarray:
    """Read an image as ``[H, W, 3]`` uint8 BGR or raise UnreadableInputError naming it."""
    import cv2
    data = np.fromfile(path, dtype=np.uint8) if osp.isfile(path) else None
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data is not None and data.size else None
    if img is None:
        raise UnreadableInputError(f'{path}: cannot decode the file as an image '
                                   f'(expected a readable {"/".join(IMAGE_EXTENSIONS)} file)')
    return img


class PartLabelBackend:
    """Base class of the label backends."""

    name = 'base'
    #: ``'image'``: tasks are the images of the split folders; ``'pifpaf'``: ``.npy`` files.
    input_kind = 'image'
    #: whether :meth:`label_maps_and_keypoints` reports the pose it found
    finds_keypoints = False

    def setup(self) -> None:
        """Load models; called once in each worker process before the first task."""

    def check_schemes(self, schemes: Sequence[PartScheme]) -> None:
        """Raise a ValueError when the backend cannot write one of ``schemes``."""

    def label_maps(self, task: LabelTask,
                   schemes: Sequence[PartScheme]) -> Dict[str, np.ndarray]:
        """Label maps ``{scheme name: [H, W] uint8}`` of one input."""
        raise NotImplementedError

    def label_maps_and_keypoints(
            self, task: LabelTask, schemes: Sequence[PartScheme]
    ) -> Tuple[Dict[str, np.ndarray], Optional[np.ndarray]]:
        """Label maps and the COCO keypoints ``[17, 3]`` of the labelled person (or None).

        Only for backends with ``finds_keypoints``; None means no person was found.
        """
        raise ValueError(f'the {self.name} label backend finds no pose keypoints to save')


class AtomBackend(PartLabelBackend):
    """A backend that labels atoms; every scheme is derived with ``scheme.from_atoms``."""

    def atom_map(self, task: LabelTask) -> np.ndarray:
        """Atom label map ``[H, W]`` uint8 (0..13) of one input."""
        return self.atoms_and_keypoints(task)[0]

    def atoms_and_keypoints(self, task: LabelTask) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Atom map ``[H, W]`` and the labelled person's COCO keypoints ``[17, 3]`` or None."""
        raise NotImplementedError

    def label_maps(self, task: LabelTask,
                   schemes: Sequence[PartScheme]) -> Dict[str, np.ndarray]:
        """Label maps of every scheme, from one atom map."""
        atoms = self.atom_map(task)  # [H, W]
        return {s.name: s.from_atoms(atoms) for s in schemes}

    def label_maps_and_keypoints(
            self, task: LabelTask, schemes: Sequence[PartScheme]
    ) -> Tuple[Dict[str, np.ndarray], Optional[np.ndarray]]:
        """Label maps of every scheme and the keypoints they were drawn from."""
        atoms, kps = self.atoms_and_keypoints(task)
        return {s.name: s.from_atoms(atoms) for s in schemes}, kps


def load_coco_keypoints(path: str) -> Dict[str, List[np.ndarray]]:
    """Skeletons per image of a COCO keypoint JSON: ``{file_name: [[17, 3] arrays]}``.

    Raises a ValueError naming ``path`` when the file is not COCO keypoint JSON.
    """
    try:
        with open(path, encoding='utf-8') as f:
            coco = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f'{path}: cannot read COCO keypoint JSON ({e})') from None
    if not isinstance(coco, dict) or 'images' not in coco or 'annotations' not in coco:
        raise ValueError(f'{path}: expected a COCO JSON object with "images" and '
                         f'"annotations" lists')
    names = {}
    for img in coco['images']:
        if 'id' not in img or 'file_name' not in img:
            raise ValueError(f'{path}: every entry of "images" needs "id" and "file_name", '
                             f'got {sorted(img)}')
        names[img['id']] = osp.normpath(img['file_name'])
    out: Dict[str, List[np.ndarray]] = {name: [] for name in names.values()}
    for i, ann in enumerate(coco['annotations']):
        kps = ann.get('keypoints')
        if ann.get('image_id') not in names or kps is None or len(kps) != 51:
            raise ValueError(f'{path}: annotation {i} must have an "image_id" listed in '
                             f'"images" and 51 "keypoints" values (17 x, y, v)')
        out[names[ann['image_id']]].append(np.asarray(kps, dtype=np.float64).reshape(17, 3))
    return out


class KeypointFileBackend(AtomBackend):
    """Labels from COCO keypoint files, without a person mask (limb-width bands).

    Keypoints of split ``s`` are read from ``<keypoint_dir>/<s>.json``; ``file_name`` is
    relative to the split folder. Of several people, the one whose head is nearest the
    top centre of the box is labelled.
    """

    name = 'keypoints'
    finds_keypoints = True

    def __init__(self, keypoint_dir: str, widths: CapsuleWidths = CapsuleWidths()) -> None:
        self.keypoint_dir = keypoint_dir
        self.widths = widths
        self._cache: Dict[str, Dict[str, List[np.ndarray]]] = {}

    def _split_keypoints(self, split: str) -> Dict[str, List[np.ndarray]]:
        if split not in self._cache:
            path = osp.join(self.keypoint_dir, f'{split}.json')
            if not osp.isfile(path):
                raise FileNotFoundError(f'{path}: keypoint file of split {split!r} not found '
                                        f'(expected COCO keypoint JSON per split)')
            self._cache[split] = load_coco_keypoints(path)
        return self._cache[split]

    def atoms_and_keypoints(self, task: LabelTask) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Atom map of the target skeleton at the image's size (zeros without one), and it."""
        img = read_image(task.src)
        h, w = img.shape[:2]
        people = self._split_keypoints(task.split).get(osp.normpath(task.name), [])
        idx = select_target(people, w, h)
        if idx is None:
            return np.zeros((h, w), dtype=np.uint8), None
        return assign_atoms(people[idx], (h, w), None, self.widths), people[idx]


def field_stem(path: str) -> str:
    """Image stem of a field file: ``a.jpg.confidence_fields.npy`` -> ``a``."""
    name = osp.basename(path)
    for suffix in ('.npy', '.confidence_fields'):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
    stem, ext = osp.splitext(name)
    return stem if ext.lower() in IMAGE_EXTENSIONS else name


class PifPafFieldBackend(PartLabelBackend):
    """Label maps from BPBReID's released PifPaf fields (36 maps per image, ``.npy``).

    The 17 keypoint and 19 connection fields are grouped per scheme (pixel-wise max) and
    thresholded: ``mmreidparts.structures.pifpaf.fields_to_label_map``. Maps are written at
    the field resolution (the loader resizes labels to the image).
    """

    name = 'pifpaf'
    input_kind = 'pifpaf'

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def check_schemes(self, schemes: Sequence[PartScheme]) -> None:
        """Fields carry no finer regions than keypoints and limbs: atoms13 is not possible."""
        from mmreidparts.structures import pifpaf
        for s in schemes:
            try:
                pifpaf.group_fields(np.zeros((36, 2, 2), np.float32), s)
            except (KeyError, ValueError) as e:
                raise ValueError(f'the pifpaf backend cannot write scheme {s.name!r}: {e}') \
                    from None

    def label_maps(self, task: LabelTask,
                   schemes: Sequence[PartScheme]) -> Dict[str, np.ndarray]:
        """Label maps of every scheme from one field file."""
        from mmreidparts.structures.pifpaf import fields_to_label_map
        try:
            fields = np.load(task.src, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise UnreadableInputError(f'{task.src}: cannot load the .npy field file ({e})') \
                from None
        if fields.ndim == 3 and fields.shape[0] != 36 and fields.shape[-1] == 36:
            fields = np.moveaxis(fields, -1, 0)  # [h, w, 36] -> [36, h, w]
        if fields.ndim != 3 or fields.shape[0] != 36:
            raise UnreadableInputError(f'{task.src}: expected PifPaf fields of shape '
                                       f'[36, h, w], got {fields.shape}')
        fields = fields.astype(np.float32)
        return {s.name: fields_to_label_map(fields, s, threshold=self.threshold)
                for s in schemes}


def build_backend(name: str, data_root: str, keypoint_dir: Optional[str] = None,
                  **kwargs) -> PartLabelBackend:
    """Backend by name: ``'mediapipe'``, ``'keypoints'`` or ``'pifpaf'``."""
    if name == 'keypoints':
        return KeypointFileBackend(keypoint_dir or osp.join(data_root, 'keypoints'), **kwargs)
    if name == 'pifpaf':
        return PifPafFieldBackend(**kwargs)
    if name == 'mediapipe':
        from .mediapipe_backend import MediaPipeBackend
        return MediaPipeBackend(**kwargs)
    raise ValueError(f'unknown label backend {name!r}; choose mediapipe, keypoints or pifpaf')


__all__ = ['LabelTask', 'PartLabelBackend', 'AtomBackend', 'KeypointFileBackend',
           'PifPafFieldBackend', 'UnreadableInputError', 'read_image', 'load_coco_keypoints',
           'build_backend', 'IMAGE_EXTENSIONS']
