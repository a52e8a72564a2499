"""The mediapipe backend (skipped without mediapipe) and its crop geometry."""
import os
import os.path as osp

import numpy as np
import pytest

from mmreidparts.part_labels.backends import LabelTask
from mmreidparts.part_labels.mediapipe_backend import (
    MEDIAPIPE_TO_COCO,
    MediaPipeBackend,
    letterbox,
    mediapipe_available,
)
from mmreidparts.part_labels.skeleton import COCO_KEYPOINTS, KP

needs_mediapipe = pytest.mark.skipif(not mediapipe_available(),
                                     reason='mediapipe is not installed (pip install .[labels])')
CUHK = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', '..', 'shared', 'data',
                'cuhk03_detected')


def test_letterbox_geometry() -> None:
    img = np.zeros((160, 60, 3), np.uint8)
    img[10, 20] = 255
    square, scale, left, top = letterbox(img, 512)
    assert square.shape == (512, 512, 3) and scale == pytest.approx(3.2)
    assert (left, top) == ((512 - 192) // 2, 0)
    # the bright pixel's centre (20.5, 10.5) lands at left + 20.5 * 3.2 in the square
    ys, xs = np.nonzero(square[..., 0] > 100)
    assert abs(xs.mean() + 0.5 - (left + 20.5 * scale)) < 1.5
    assert abs(ys.mean() + 0.5 - 10.5 * scale) < 1.5
    wide = letterbox(np.zeros((100, 300, 3), np.uint8), 200)[0]
    assert wide.shape == (600, 600, 3)  # wider than tall: padded to the width


def test_target_check() -> None:
    backend = MediaPipeBackend()
    kps = np.zeros((17, 3))
    kps[KP['nose']] = (32, 20, 2)
    assert backend.is_target(kps, 64, 128)
    kps[KP['nose']] = (60, 20, 2)  # head at the box edge: another person
    assert not backend.is_target(kps, 64, 128)
    kps[KP['nose']] = (32, 100, 2)  # head in the lower half
    assert not backend.is_target(kps, 64, 128)


@needs_mediapipe
def test_landmark_mapping_names() -> None:
    import mediapipe as mp
    names = [mp.solutions.pose.PoseLandmark(j).name.lower() for j in MEDIAPIPE_TO_COCO]
    expected = [n.replace('l_', 'left_', 1).replace('r_', 'right_', 1)
                if n[:2] in ('l_', 'r_') else n for n in COCO_KEYPOINTS]
    assert names == expected


@needs_mediapipe
def test_blank_image_has_no_person(tmp_path) -> None:
    import cv2
    path = str(tmp_path / 'blank.jpg')
    cv2.imwrite(path, np.full((128, 64, 3), 127, np.uint8))
    backend = MediaPipeBackend()
    backend.setup()
    labels = backend.atom_map(LabelTask('query', path, 'blank.jpg', 'blank', path))
    assert labels.shape == (128, 64) and labels.max() == 0


@needs_mediapipe
@pytest.mark.realdata
@pytest.mark.skipif(not osp.isdir(CUHK), reason='../shared/data is absent')
def test_real_crops_find_people() -> None:
    folder = osp.join(CUHK, 'query')
    names = sorted(os.listdir(folder))[:6]
    backend = MediaPipeBackend()
    backend.setup()
    found = 0
    for name in names:
        path = osp.join(folder, name)
        labels = backend.atom_map(LabelTask('query', path, name, osp.splitext(name)[0], path))
        found += int(labels.max() > 0)
    assert found >= 4
