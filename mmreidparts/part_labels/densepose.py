"""COCO DensePose part masks to the 7 parts of part awareness learning (``pal7``).

DensePose's ``dp_masks`` index 14 parts: 1 torso, 2 right hand, 3 left hand, 4 left foot,
5 right foot, 6 right upper leg, 7 left upper leg, 8 right lower leg, 9 left lower leg,
10 left upper arm, 11 right upper arm, 12 left lower arm, 13 right lower arm, 14 head
(0 background). PAL merges left and right and puts the hands into the lower arms
(pal.md 2.2), so its labels need no class swap under a horizontal flip.
"""
import numpy as np

# DensePose index -> pal7 id (0 bg, 1 head, 2 torso, 3 upper arm, 4 lower arm, 5 upper leg,
# 6 lower leg, 7 foot)
DENSEPOSE_TO_PAL7 = np.array([0, 2, 4, 4, 7, 7, 5, 5, 6, 6, 3, 3, 4, 4, 1], dtype=np.uint8)
DENSEPOSE_PARTS = 14


def densepose_to_pal7(mask: np.ndarray) -> np.ndarray:
    """Map a DensePose part mask (ids 0..14) to a ``pal7`` label map (uint8 ids 0..7)."""
    mask = np.asarray(mask)
    if mask.dtype.kind not in 'iub':
        raise ValueError(f'DensePose part mask must hold integer ids, got dtype {mask.dtype}')
    if mask.size and (mask.min() < 0 or mask.max() > DENSEPOSE_PARTS):
        bad = int(mask.max()) if mask.max() > DENSEPOSE_PARTS else int(mask.min())
        raise ValueError(f'DensePose part mask holds id {bad}; expected 0 (background) to '
                         f'{DENSEPOSE_PARTS}')
    return DENSEPOSE_TO_PAL7[mask.astype(np.int64)]

