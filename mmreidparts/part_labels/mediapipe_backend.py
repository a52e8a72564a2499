"""Pose + person segmentation backend on mediapipe (optional extra: ``pip install .[labels]``).

mediapipe is imported in ``setup`` only, so importing this module never needs it. The crop
is upscaled to ``target_height`` pixels and padded to a square before detection; the 33
landmarks are reduced to the 17 COCO keypoints and, with the person mask, mapped back to
the crop, where each mask pixel gets the atom of its nearest body capsule.

mediapipe 0.10.21 ships the models of the single-person ``solutions.pose`` graph in its
wheel, not the bundle of the multi-person ``tasks`` PoseLandmarker (its models lack the
metadata that API needs), so one person is detected per pass. The target rule of the
other backends (head nearest the top centre of the box) is applied as a check: when the
detected person's head lies outside the upper half or the central ``max_head_offset`` of
the box width, that person is painted out and the crop is searched again, up to
``max_attempts`` passes; if no pass finds the target the crop counts as having no person.
"""
from typing import Optional, Tuple

import numpy as np

from .backends import AtomBackend, LabelTask, read_image
from .skeleton import CapsuleWidths, assign_atoms, head_position

# mediapipe pose landmark index of each COCO keypoint (person's own left/right in both).
MEDIAPIPE_TO_COCO: Tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26,
                                      27, 28)


def mediapipe_available() -> bool:
    """Whether mediapipe can be imported."""
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        return False
    return True


def letterbox(img: np.ndarray, target_height: int) -> Tuple[np.ndarray, float, int, int]:
    """Upscale ``img`` [H, W, 3] to ``target_height`` and pad it to a square.

    Returns the square image [S, S, 3], the scale and the left and top padding, so a
    point ``p`` of the square maps back to ``(p - (left, top)) / scale`` in ``img``.
    """
    import cv2
    h, w = img.shape[:2]
    scale = target_height / h
    nh, nw = target_height, max(1, int(round(w * scale)))
    resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_CUBIC)
    side = max(nh, nw)
    top, left = (side - nh) // 2, (side - nw) // 2
    out = np.zeros((side, side, 3), dtype=img.dtype)
    out[top:top + nh, left:left + nw] = resized
    return out, scale, left, top


class MediaPipeBackend(AtomBackend):
    """Atom labels from mediapipe Pose landmarks and its person segmentation mask.

    Args:
        target_height: height the crop is upscaled to before detection.
        model_complexity: mediapipe Pose model (0 lite, 1 full; the wheel ships 1).
        min_detection_confidence: mediapipe person detection threshold.
        visibility_threshold: landmarks at or above this visibility are visible (v=2).
        hidden_threshold: landmarks inside the crop with a visibility between this and
            ``visibility_threshold`` are kept as hidden (v=1, behind the visible parts);
            lower ones are missing.
        mask_threshold: threshold on the segmentation probability.
        max_head_offset: largest horizontal distance of the head from the box centre, as a
            fraction of the box width, for the detection to be the target.
        max_attempts: detection passes per crop (each later pass paints out the person
            found before).
        widths: capsule radii in body scales.
    """

    name = 'mediapipe'
    finds_keypoints = True

    def __init__(self, target_height: int = 512, model_complexity: int = 1,
                 min_detection_confidence: float = 0.5, visibility_threshold: float = 0.5,
                 hidden_threshold: float = 0.2,
                 mask_threshold: float = 0.5, max_head_offset: float = 0.35,
                 max_attempts: int = 2, widths: CapsuleWidths = CapsuleWidths()) -> None:
        self.target_height = target_height
        self.model_complexity = model_complexity
        self.min_detection_confidence = min_detection_confidence
        self.visibility_threshold = visibility_threshold
        self.hidden_threshold = hidden_threshold
        self.mask_threshold = mask_threshold
        self.max_head_offset = max_head_offset
        self.max_attempts = max_attempts
        self.widths = widths
        self._pose = None

    def __getstate__(self) -> dict:
        """Pickle without the loaded graph (workers set up their own)."""
        state = dict(self.__dict__)
        state['_pose'] = None
        return state

    def setup(self) -> None:
        """Build the mediapipe Pose graph (static images, with segmentation)."""
        try:
            import mediapipe as mp
        except ImportError:
            raise ImportError('the mediapipe label backend needs mediapipe: '
                              'pip install -e .[labels]  (mediapipe==0.10.21)') from None
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=self.model_complexity,
            enable_segmentation=True, min_detection_confidence=self.min_detection_confidence)

    def detect(self, img: np.ndarray) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """COCO keypoints ``[17, 3]`` and person mask ``[H, W]`` bool of a BGR crop, or Nones."""
        import cv2
        if self._pose is None:
            self.setup()
        h, w = img.shape[:2]
        square, scale, left, top = letterbox(img, self.target_height)
        side = square.shape[0]
        res = self._pose.process(cv2.cvtColor(square, cv2.COLOR_BGR2RGB))
        if res.pose_landmarks is None:
            return None, None
        lms = res.pose_landmarks.landmark
        kps = np.zeros((17, 3), dtype=np.float64)
        for i, j in enumerate(MEDIAPIPE_TO_COCO):
            x = (lms[j].x * side - left) / scale  # square -> crop pixels
            y = (lms[j].y * side - top) / scale
            inside = -0.05 * w <= x <= 1.05 * w and -0.05 * h <= y <= 1.05 * h
            if inside and lms[j].visibility >= self.visibility_threshold:
                kps[i] = (x, y, 2.0)
            elif inside and lms[j].visibility >= self.hidden_threshold:
                kps[i] = (x, y, 1.0)
        mask = None
        if res.segmentation_mask is not None:
            nh, nw = self.target_height, int(round(w * scale))
            prob = res.segmentation_mask[top:top + nh, left:left + nw]  # [nh, nw] float32
            prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_AREA)
            mask = prob >= self.mask_threshold  # [H, W]
        return kps, mask

    def is_target(self, kps: np.ndarray, width: int, height: int) -> bool:
        """Whether a detected skeleton's head lies where the target's head is expected."""
        head = head_position(kps)
        if head is None:
            return bool(np.any(kps[:, 2] > 0))
        return abs(head[0] - width / 2.0) <= self.max_head_offset * width and \
            head[1] <= 0.5 * height

    def atoms_and_keypoints(self, task: LabelTask) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Atom map of one crop and the target's 17 COCO keypoints (zeros and None if none).

        The keypoints are the mediapipe landmarks mapped to COCO-17 (:data:`MEDIAPIPE_TO_COCO`)
        in crop pixels, with visibility 2 (visible), 1 (hidden, inside the crop) or 0.
        """
        img = read_image(task.src)
        h, w = img.shape[:2]
        for _ in range(max(1, self.max_attempts)):
            kps, mask = self.detect(img)
            if kps is None:
                break
            if self.is_target(kps, w, h):
                return assign_atoms(kps, (h, w), mask, self.widths), kps
            if mask is None or not mask.any():
                break
            img = img.copy()
            img[mask] = 0  # paint the other person out and search again
        return np.zeros((h, w), dtype=np.uint8), None


__all__ = ['MediaPipeBackend', 'MEDIAPIPE_TO_COCO', 'letterbox', 'mediapipe_available']
