"""Tests of VPM's self-supervised random crop and its region labels (vpm.md 2.2)."""
import numpy as np
import pytest
import torch

from mmreidparts.datasets.transforms.vpm_crop import (
    VPMRandomCrop,
    project_region_labels,
    region_boxes_after_crop,
    side_crop_box,
)
from mmreidparts.registry import TRANSFORMS


def _rows(labels: np.ndarray) -> list:
    """Label of each row, checking every row is constant."""
    assert (labels == labels[:, :1]).all()
    return labels[:, 0].tolist()


def test_worked_example_top_075_on_the_feature_grid():
    # 384 x 128 input, 6 x 1 stripes, top crop 0.75, stride 16 -> 24 x 8 grid.
    box = side_crop_box(384, 128, 0.75, 'top')
    assert box == (0, 0, 128, 288)
    boxes = region_boxes_after_crop((6, 1), (384, 128), box, (384, 128))
    labels, visible = project_region_labels(boxes, 16, 24, 8)
    assert _rows(labels) == [0] * 5 + [1] * 6 + [2] * 5 + [3] * 5 + [4] * 3
    assert visible.tolist() == [True] * 5 + [False]


def test_no_crop_gives_equal_stripes_and_grid_cells():
    boxes = region_boxes_after_crop((6, 1), (384, 128), (0, 0, 128, 384), (384, 128))
    labels, visible = project_region_labels(boxes, 16, 24, 8)
    assert _rows(labels) == sum(([i] * 4 for i in range(6)), [])
    assert visible.all()
    boxes = region_boxes_after_crop((3, 2), (24, 8), (0, 0, 8, 24), (24, 8))
    labels, _ = project_region_labels(boxes, 1, 24, 8)
    expected = np.repeat(np.repeat(np.arange(6).reshape(3, 2), 8, axis=0), 4, axis=1)
    np.testing.assert_array_equal(labels, expected)


def test_transform_top_crop_pixel_labels_and_stride_visibility():
    t = VPMRandomCrop(crop_mode='top', grid=(6, 1), label_stride=16)
    img = np.zeros((384, 16, 3), np.uint8)
    out = t.crop_and_label(dict(img=img), 'top', 0.75)
    # Borders 0, 85.33, 170.67, 256, 341.33 rounded at pixel level.
    assert _rows(out['gt_region_map']) == ([0] * 85 + [1] * 86 + [2] * 85 + [3] * 85 +
                                           [4] * 43)
    assert out['region_visibility'].tolist() == [1, 1, 1, 1, 1, 0]
    assert out['gt_region_map'].dtype == np.uint8
    assert out['img'].shape == (384, 16, 3) and out['img_shape'] == (384, 16)
    assert out['vpm_crop'] == dict(side='top', ratio=0.75, box=(0, 0, 16, 288))


def test_bottom_crop_mirrors_top():
    t = VPMRandomCrop(grid=(6, 1), label_stride=16)
    out = t.crop_and_label(dict(img=np.zeros((384, 16, 3), np.uint8)), 'bottom', 0.75)
    # Borders -128, -42.67, 42.67, 128, 213.33, 298.67, 384 (clipped at 0).
    assert _rows(out['gt_region_map']) == ([1] * 43 + [2] * 85 + [3] * 85 + [4] * 86 +
                                           [5] * 85)
    assert out['region_visibility'].tolist() == [0, 1, 1, 1, 1, 1]
    np.testing.assert_allclose(out['region_boxes'][0], [0, 0, 16, 0])


def test_left_crop_on_a_two_column_grid():
    t = VPMRandomCrop(grid=(1, 2), label_stride=1)
    out = t.crop_and_label(dict(img=np.zeros((4, 8, 3), np.uint8)), 'left', 0.5)
    # The left half is region 0 only, stretched over the whole width.
    assert (out['gt_region_map'] == 0).all()
    assert out['region_visibility'].tolist() == [1, 0]


def test_image_and_part_labels_move_together():
    img = np.repeat(np.arange(8, dtype=np.uint8)[:, None, None] * 10, 4, axis=1)
    img = np.repeat(img, 3, axis=2)                          # row r has value 10 r
    seg = np.repeat(np.arange(1, 9, dtype=np.uint8)[:, None], 4, axis=1)  # row r: r + 1
    fields = np.ones((2, 8, 4), np.float32)
    t = VPMRandomCrop(grid=(2, 1), label_stride=1)
    out = t.crop_and_label(dict(img=img, gt_seg_map=seg, gt_part_fields=fields), 'top', 0.5)
    assert _rows(out['gt_seg_map']) == [1, 1, 2, 2, 3, 3, 4, 4]
    assert out['img'][:, 0, 0].min() == 0 and out['img'][:, 0, 0].max() <= 30
    assert out['gt_part_fields'].shape == (2, 8, 4)
    np.testing.assert_allclose(out['gt_part_fields'], 1.0)
    # Two stripes, top half kept: everything is region 0.
    assert (out['gt_region_map'] == 0).all()


def test_random_transform_invariants():
    t = TRANSFORMS.build(dict(type='VPMRandomCrop', crop_mode='bilateral',
                              ratio_range=(0.5, 1.0), grid=(6, 1), label_stride=1))
    np.random.seed(0)
    sides = set()
    for _ in range(20):
        out = t(dict(img=np.zeros((48, 8, 3), np.uint8)))
        labels = out['gt_region_map']
        rows = _rows(labels)
        assert rows == sorted(rows)                                # non-decreasing
        present = np.zeros(6, bool)
        present[np.unique(labels)] = True
        np.testing.assert_array_equal(present, out['region_visibility'] > 0)
        side = out['vpm_crop']['side']
        sides.add(side)
        assert 0.5 <= out['vpm_crop']['ratio'] <= 1.0
        assert rows[0] == 0 if side == 'top' else rows[-1] == 5
    assert sides == {'top', 'bottom'}


def test_prob_zero_keeps_the_whole_image():
    t = VPMRandomCrop(grid=(6, 1), label_stride=1, prob=0.0)
    img = np.random.randint(0, 255, (24, 8, 3), np.uint8)
    out = t(dict(img=img.copy()))
    np.testing.assert_array_equal(out['img'], img)
    assert _rows(out['gt_region_map']) == sum(([i] * 4 for i in range(6)), [])


def test_bad_arguments():
    with pytest.raises(ValueError, match='crop_mode'):
        VPMRandomCrop(crop_mode='middle')
    with pytest.raises(ValueError, match='ratio_range'):
        VPMRandomCrop(ratio_range=(0.0, 1.0))
    with pytest.raises(ValueError, match='crop ratio'):
        side_crop_box(10, 10, 1.5, 'top')


def test_partial_query_crop_cuts_queries_only():
    from mmreidparts.datasets.transforms import PartialQueryCrop
    img = np.arange(40 * 10 * 3, dtype=np.uint8).reshape(40, 10, 3)
    seg = np.repeat(np.arange(40, dtype=np.uint8)[:, None], 10, axis=1)
    t = PartialQueryCrop(ratio=0.75, side='bottom')
    out = t(dict(img=img.copy(), gt_seg_map=seg.copy(), is_query=True))
    np.testing.assert_array_equal(out['img'], img[10:])
    assert out['img_shape'] == (30, 10)
    assert out['gt_seg_map'][0, 0] == 10
    assert out['partial_crop'] == dict(side='bottom', ratio=0.75, box=(0, 10, 10, 40))
    gallery = t(dict(img=img.copy(), is_query=False))
    np.testing.assert_array_equal(gallery['img'], img)
    assert gallery['partial_crop'] is None
    out = PartialQueryCrop(ratio=0.5, side='left', queries_only=False)(dict(img=img.copy()))
    assert out['img'].shape == (40, 5, 3)
    for ratio in (0.0, 1.2, -0.5):
        with pytest.raises(ValueError, match=r'ratio must be in \(0, 1\]'):
            PartialQueryCrop(ratio=ratio)
    with pytest.raises(ValueError, match='side'):
        PartialQueryCrop(side='bilateral')


def test_a_later_pad_crop_recomputes_the_visible_regions():
    from mmreidparts.datasets.transforms import PadRandomCrop
    # 24 x 8, top half kept: stripes 0..2 of 8 rows each on the input, stride 4 grid
    t = VPMRandomCrop(grid=(6, 1), label_stride=4)
    out = t.crop_and_label(dict(img=np.zeros((24, 8, 3), np.uint8)), 'top', 0.5)
    assert out['region_visibility'].tolist() == [1, 1, 1, 0, 0, 0]
    pad = PadRandomCrop(padding=10)
    pad._offset = lambda: (20, 10)  # the image moves up by 10 rows
    out = pad(out)
    # boxes -10..-2 (gone), -2..6 -> 0..6, 6..14; on the stride-4 grid rows 0..1 and 2..3
    np.testing.assert_allclose(out['region_boxes'][:3, [1, 3]], [[0, 0], [0, 6], [6, 14]])
    assert out['region_visibility'].tolist() == [0, 1, 1, 0, 0, 0]
    assert (out['gt_region_map'][:6] == 1).all() and (out['gt_region_map'][6:14] == 2).all()
    assert (out['gt_region_map'][14:] == 255).all()


def test_resize_and_flip_move_the_boxes_and_keep_ids_positional():
    from mmreidparts.datasets.transforms import PackReIDInputs, ReIDRandomFlip, ReIDResize
    t = VPMRandomCrop(grid=(3, 2), label_stride=1)
    out = t.crop_and_label(dict(img=np.zeros((24, 8, 3), np.uint8)), 'left', 0.75)
    # left 6 of 8 columns: the right cells (ids 1, 3, 5) keep 2 of their 4 columns,
    # stretched to 8 / 6 of that
    np.testing.assert_allclose(out['region_boxes'][0], [0, 0, 16 / 3, 8])
    np.testing.assert_allclose(out['region_boxes'][1], [16 / 3, 0, 8, 8])
    out = ReIDResize(scale=(12, 4))(out)
    np.testing.assert_allclose(out['region_boxes'][1], [8 / 3, 0, 4, 4])
    before = out['gt_region_map'].copy()
    out = ReIDRandomFlip(prob=1.0)(out)
    # after the flip the left column of the image holds what was the right cells:
    # positional ids, so they are named as the left cells (0, 2, 4) again
    np.testing.assert_allclose(out['region_boxes'][0], [0, 0, 4 / 3, 4])
    np.testing.assert_allclose(out['region_boxes'][1], [4 / 3, 0, 4, 4])
    np.testing.assert_array_equal(out['gt_region_map'],
                                  np.array([1, 0, 3, 2, 5, 4])[before[:, ::-1]])
    assert out['region_visibility'].tolist() == [1] * 6
    sample = PackReIDInputs()(out)['data_samples']
    assert sample.region_boxes.shape == (6, 4)
    assert sample.region_boxes.dtype == torch.float32
