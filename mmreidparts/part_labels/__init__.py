"""Offline body-part label generation (pose + person mask, keypoint files, PifPaf fields).

Importing this package never imports mediapipe; the mediapipe backend loads it when a
worker sets up (``pip install -e .[labels]``).
"""
from .backends import (
                       AtomBackend,
                       KeypointFileBackend,
                       LabelTask,
                       PartLabelBackend,
                       PifPafFieldBackend,
                       UnreadableInputError,
                       build_backend,
                       load_coco_keypoints,
                       read_image,
)
from .densepose import DENSEPOSE_TO_PAL7, densepose_to_pal7
from .evaluate import compare_label_dirs, confusion, iou_from_confusion
from .generate import (
                       DEFAULT_SPLITS,
                       collect_tasks,
                       output_path,
                       read_label_map,
                       run_generation,
                       write_png_atomic,
                       write_visualization,
)
from .skeleton import (
                       COCO_FLIP_PAIRS,
                       COCO_KEYPOINTS,
                       CapsuleWidths,
                       assign_atoms,
                       body_scale,
                       build_capsules,
                       flip_keypoints,
                       select_target,
)
from .visualize import colorize, draw_sheet, overlay

__all__ = [
    'AtomBackend', 'KeypointFileBackend', 'LabelTask', 'PartLabelBackend',
    'PifPafFieldBackend', 'UnreadableInputError', 'build_backend', 'load_coco_keypoints',
    'read_image', 'compare_label_dirs', 'confusion', 'iou_from_confusion', 'DEFAULT_SPLITS',
    'collect_tasks', 'output_path', 'read_label_map', 'run_generation', 'write_png_atomic',
    'write_visualization', 'DENSEPOSE_TO_PAL7', 'densepose_to_pal7',
    'COCO_FLIP_PAIRS', 'COCO_KEYPOINTS', 'CapsuleWidths', 'assign_atoms', 'body_scale',
    'build_capsules', 'flip_keypoints', 'select_target', 'colorize', 'draw_sheet', 'overlay'
]
