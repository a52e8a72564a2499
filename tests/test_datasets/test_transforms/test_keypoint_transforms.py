"""Pose keypoints in the pipeline: loading from COCO JSON, moved by every geometric transform."""
import json

import numpy as np
import pytest

from mmreidparts.datasets.transforms import (
    LoadKeypoints,
    PackReIDInputs,
    PadRandomCrop,
    RandomErasing,
    ReIDRandomFlip,
    ReIDResize,
)


def _skeleton(dx=0.0, v=2):
    kps = np.zeros((17, 3), np.float32)
    kps[0] = (32 + dx, 14, v)  # nose
    kps[5] = (42 + dx, 28, v)  # left shoulder
    kps[6] = (22 + dx, 28, v)  # right shoulder
    kps[15] = (40 + dx, 114, v)  # left ankle
    return kps


@pytest.fixture()
def keypoint_root(tmp_path):
    (tmp_path / 'query').mkdir()
    (tmp_path / 'keypoints').mkdir()
    images = [dict(id=1, file_name='0001_c1s1_000001_00.jpg', height=128, width=64),
              dict(id=2, file_name='0002_c1s1_000001_00.jpg', height=128, width=64)]
    far = _skeleton(dx=25)  # a second person at the border
    anns = [dict(id=1, image_id=1, keypoints=far.ravel().tolist()),
            dict(id=2, image_id=1, keypoints=_skeleton().ravel().tolist())]
    (tmp_path / 'keypoints' / 'query.json').write_text(json.dumps(
        dict(images=images, annotations=anns, categories=[])))
    LoadKeypoints._cache.clear()
    return tmp_path


def _record(root, name='0001_c1s1_000001_00.jpg'):
    return dict(img_path=str(root / 'query' / name), img=np.zeros((128, 64, 3), np.uint8),
                img_shape=(128, 64))


def test_load_picks_the_target_and_gives_missing_keypoints_without_one(keypoint_root):
    out = LoadKeypoints()(_record(keypoint_root))
    assert out['gt_keypoints'].dtype == np.float32
    assert np.array_equal(out['gt_keypoints'], _skeleton())  # head nearest the top centre
    none = LoadKeypoints()(_record(keypoint_root, '0002_c1s1_000001_00.jpg'))
    assert not none['gt_keypoints'].any()  # listed without a person
    unlisted = LoadKeypoints()(_record(keypoint_root, '0003_c1s1_000001_00.jpg'))
    assert not unlisted['gt_keypoints'].any()
    with pytest.raises(KeyError, match='does not list'):
        LoadKeypoints(missing='error')(_record(keypoint_root, '0003_c1s1_000001_00.jpg'))
    with pytest.raises(FileNotFoundError, match='--save-keypoints'):
        LoadKeypoints(keypoint_dir=str(keypoint_root / 'nowhere'))(_record(keypoint_root))


def test_resize_scales_and_flip_mirrors_with_left_right_swapped():
    res = dict(img=np.zeros((128, 64, 3), np.uint8), gt_keypoints=_skeleton())
    res = ReIDResize(scale=(64, 16))(res)  # x / 4, y / 2
    kps = res['gt_keypoints']
    assert np.allclose(kps[5], (10.5, 14, 2)) and np.allclose(kps[15], (10, 57, 2))
    res = ReIDRandomFlip(prob=1.0)(res)
    kps = res['gt_keypoints']
    assert np.allclose(kps[0], (16 - 8, 7, 2))  # x -> W - x
    assert np.allclose(kps[6], (16 - 10.5, 14, 2))  # the left shoulder is now the right
    assert np.allclose(kps[5], (16 - 5.5, 14, 2))
    assert np.allclose(kps[16], (16 - 10, 57, 2)) and not kps[15].any()
    assert not kps[1].any()  # missing keypoints stay at (0, 0, 0)


def test_pad_crop_shifts_and_drops_keypoints_that_leave_the_crop():
    np.random.seed(3)
    kps = _skeleton()
    kps[1] = (1, 1, 2)  # near the top-left corner
    res = PadRandomCrop(padding=6)(dict(img=np.zeros((128, 64, 3), np.uint8),
                                        gt_keypoints=kps))
    top, left = res['crop_offset']
    out = res['gt_keypoints']
    assert np.allclose(out[5], (42 + 6 - left, 28 + 6 - top, 2))
    assert (1 + 6 - left < 0 or 1 + 6 - top < 0) == (out[1, 2] == 0)


def test_erased_keypoints_become_missing():
    np.random.seed(0)
    res = RandomErasing(prob=1.0, area_range=(0.3, 0.4))(
        dict(img=np.zeros((128, 64, 3), np.uint8), gt_keypoints=_skeleton()))
    top, left, eh, ew = res['erase_box']
    for before, after in zip(_skeleton(), res['gt_keypoints']):
        inside = left <= before[0] < left + ew and top <= before[1] < top + eh
        assert (after == 0).all() if inside else np.array_equal(after, before)


def test_keypoints_follow_the_pixels_through_the_whole_pipeline():
    np.random.seed(1)
    img = np.zeros((128, 64, 3), np.uint8)
    kps = _skeleton()
    for x, y, _ in kps[kps[:, 2] > 0]:
        img[int(y) - 2:int(y) + 2, int(x) - 2:int(x) + 2] = 255  # a 4x4 dot centred on it
    res = dict(img=img, gt_keypoints=kps, img_shape=(128, 64))
    for t in (ReIDResize(scale=(256, 128)), PadRandomCrop(padding=10),
              ReIDRandomFlip(prob=1.0)):
        res = t(res)
    for x, y, v in res['gt_keypoints']:
        if v > 0:
            assert res['img'][int(y) - 1:int(y) + 1, int(x) - 1:int(x) + 1].min() == 255
    packed = PackReIDInputs()(res)['data_samples']
    assert packed.gt_keypoints.shape == (17, 3)
    assert np.allclose(packed.gt_keypoints.numpy(), res['gt_keypoints'])
