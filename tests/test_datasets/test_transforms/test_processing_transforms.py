"""Tests of ReIDResize, PadRandomCrop, ReIDRandomFlip and RandomErasing on 4x4 maps."""
import numpy as np
import pytest

from mmreidparts.datasets.transforms import (
    PadRandomCrop,
    RandomErasing,
    ReIDRandomFlip,
    ReIDResize,
)
from mmreidparts.registry import TRANSFORMS

# bpbreid8 ids: 1 head, 2 l_arm, 3 r_arm, 4 torso, 5 l_leg, 6 r_leg, 7 l_foot, 8 r_foot.
LABEL = np.array([[1, 1, 0, 0],
                  [2, 4, 4, 3],
                  [5, 0, 0, 6],
                  [7, 0, 255, 8]], dtype=np.uint8)


def _results(label=LABEL, scheme='bpbreid8'):
    """An image whose channel 0 is ``10 * label`` so the two can be compared after a move."""
    img = np.stack([label * 10 % 256, np.full_like(label, 50), np.full_like(label, 60)], -1)
    return dict(img=img.astype(np.uint8), gt_seg_map=label.copy(), part_scheme=scheme,
                img_shape=label.shape, ori_shape=label.shape, img_path='x.jpg')


def test_resize_nearest_labels_bilinear_image():
    out = TRANSFORMS.build(dict(type='ReIDResize', scale=(8, 8)))(_results())
    np.testing.assert_array_equal(out['gt_seg_map'], np.kron(LABEL, np.ones((2, 2), np.uint8)))
    assert out['img_shape'] == (8, 8) and out['ori_shape'] == (4, 4)
    assert out['scale_factor'] == (2.0, 2.0)
    assert np.all(out['img'][..., 1] == 50)  # a constant channel stays constant
    out = ReIDResize(scale=(2, 2))(_results())
    np.testing.assert_array_equal(out['gt_seg_map'], [[1, 0], [5, 0]])
    with pytest.raises(ValueError, match=r'\(H, W\)'):
        ReIDResize(scale=(256, ))


def test_pad_random_crop_moves_labels_with_image(monkeypatch):
    t = PadRandomCrop(padding=1)
    monkeypatch.setattr(t, '_offset', lambda: (0, 2))
    out = t(_results())
    # Padded 6x6 map, window rows 0..3 and columns 2..5: content moves down 1, left 1.
    expected = np.array([[0, 0, 0, 0],
                         [1, 0, 0, 0],
                         [4, 4, 3, 0],
                         [0, 0, 6, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(out['gt_seg_map'], expected)
    np.testing.assert_array_equal(out['img'][..., 0], expected * 10)
    assert np.all(out['img'][0, :, 1] == 0)  # the padded row is pad_val
    assert out['crop_offset'] == (0, 2)


def test_pad_random_crop_identity_offset_and_random_range():
    t = PadRandomCrop(padding=1)
    t._offset = lambda: (1, 1)
    out = t(_results())
    np.testing.assert_array_equal(out['gt_seg_map'], LABEL)
    np.random.seed(0)
    offsets = {PadRandomCrop(padding=1)(_results())['crop_offset'] for _ in range(200)}
    assert offsets == {(a, b) for a in range(3) for b in range(3)}
    for _ in range(20):  # whatever the offset, every label stays on its image pixel
        out = PadRandomCrop(padding=2, seg_pad_val=0)(_results())
        np.testing.assert_array_equal(out['img'][..., 0], out['gt_seg_map'] * 10 % 256)


def test_flip_mirrors_and_swaps_left_right():
    out = ReIDRandomFlip(prob=1.0)(_results())
    expected = np.array([[0, 0, 1, 1],
                         [2, 4, 4, 3],
                         [5, 0, 0, 6],
                         [7, 255, 0, 8]], dtype=np.uint8)
    np.testing.assert_array_equal(out['gt_seg_map'], expected)
    np.testing.assert_array_equal(out['img'][..., 0], (LABEL * 10 % 256)[:, ::-1])
    assert out['flip'] is True and out['flip_direction'] == 'horizontal'
    # An asymmetric map: the left arm on the image's left becomes a right arm on its right.
    arm = np.array([[2, 0, 0, 0]] * 4, dtype=np.uint8)
    out = ReIDRandomFlip(prob=1.0)(_results(arm))
    np.testing.assert_array_equal(out['gt_seg_map'], [[0, 0, 0, 3]] * 4)
    out = ReIDRandomFlip(prob=0.0)(_results())
    assert out['flip'] is False
    np.testing.assert_array_equal(out['gt_seg_map'], LABEL)


def test_flip_without_left_right_parts_only_mirrors():
    pal = np.array([[1, 2, 3, 0]] * 4, dtype=np.uint8)
    out = ReIDRandomFlip(prob=1.0)(_results(pal, scheme='pal7'))
    np.testing.assert_array_equal(out['gt_seg_map'], [[0, 3, 2, 1]] * 4)
    with pytest.raises(KeyError, match='part_scheme'):
        ReIDRandomFlip(prob=1.0)(_results(scheme=None))


def test_random_erasing_const_fills_mean_and_background():
    assert RandomErasing().fill == (104, 116, 124)  # ImageNet mean, BGR
    assert RandomErasing(channel_order='rgb').fill == (124, 116, 104)
    np.random.seed(3)
    t = RandomErasing(prob=1.0, area_range=(0.25, 0.25), min_aspect=1.0)
    for _ in range(10):
        res = _results()
        out = t(res)
        top, left, h, w = out['erase_box']
        assert (h, w) == (2, 2)  # area 0.25 * 16 = 4, aspect 1
        mask = np.zeros((4, 4), bool)
        mask[top:top + h, left:left + w] = True
        assert np.all(out['img'][mask] == [104, 116, 124])
        assert np.all(out['gt_seg_map'][mask] == 0)
        np.testing.assert_array_equal(out['gt_seg_map'][~mask], LABEL[~mask])
        np.testing.assert_array_equal(out['img'][~mask], res['img'][~mask])


def test_random_erasing_can_keep_or_ignore_the_part_labels():
    for seg_fill, inside in ((None, None), (255, 255)):
        np.random.seed(3)
        out = RandomErasing(prob=1.0, area_range=(0.25, 0.25), min_aspect=1.0,
                            seg_fill=seg_fill)(_results())
        top, left, h, w = out['erase_box']
        mask = np.zeros((4, 4), bool)
        mask[top:top + h, left:left + w] = True
        assert np.all(out['img'][mask] == [104, 116, 124])  # the image is erased either way
        expected = LABEL.copy()
        if inside is not None:
            expected[mask] = inside
        np.testing.assert_array_equal(out['gt_seg_map'], expected)


def test_random_erasing_random_mode_and_prob_zero():
    np.random.seed(0)
    out = RandomErasing(prob=1.0, mode='random', area_range=(0.25, 0.25),
                        min_aspect=1.0)(_results())
    top, left, h, w = out['erase_box']
    assert np.all(out['gt_seg_map'][top:top + h, left:left + w] == 0)
    assert out['img'].dtype == np.uint8
    out = RandomErasing(prob=0.0)(_results())
    assert out['erase_box'] is None
    np.testing.assert_array_equal(out['gt_seg_map'], LABEL)
    with pytest.raises(ValueError, match="'const' or 'random'"):
        RandomErasing(mode='noise')


def test_random_erasing_box_statistics():
    np.random.seed(1)
    t = RandomErasing(prob=1.0)
    areas, aspects = [], []
    for _ in range(300):
        box = t._box(256, 128)
        assert box is not None
        top, left, h, w = box
        assert 0 <= top and top + h <= 256 and 0 <= left and left + w <= 128
        areas.append(h * w / (256 * 128))
        aspects.append(h / w)
    assert 0.015 < min(areas) and max(areas) < 0.41
    assert 0.28 < min(aspects) and max(aspects) < 1 / 0.28
