"""Tests of the shared region-grid geometry (vpm.md 2.2, section 10 invariants 1-4)."""
import numpy as np
import pytest

from mmreidparts.structures.region_grid import (
    check_grid,
    flip_region_order,
    project_region_labels,
    region_boxes_after_crop,
    region_visible_fractions,
    side_crop_box,
)


def test_visible_fractions_of_the_worked_example():
    # top crop 0.75 of 6 stripes: stripes 0..3 whole, stripe 4 half (rows 256..288 of
    # 256..320), stripe 5 gone
    box = side_crop_box(384, 128, 0.75, 'top')
    np.testing.assert_allclose(region_visible_fractions((6, 1), (384, 128), box),
                               [1, 1, 1, 1, 0.5, 0])
    box = side_crop_box(384, 128, 0.5, 'bottom')
    np.testing.assert_allclose(region_visible_fractions((6, 1), (384, 128), box),
                               [0, 0, 0, 1, 1, 1])
    # 3 x 2 grid on 24 x 8, left crop 0.75 keeps columns 0..6: the right cells keep 2/4
    box = side_crop_box(24, 8, 0.75, 'left')
    assert box == (0, 0, 6, 24)
    np.testing.assert_allclose(region_visible_fractions((3, 2), (24, 8), box),
                               [1, 0.5, 1, 0.5, 1, 0.5])


def test_labels_tile_the_grid_and_match_the_visible_set():
    rng = np.random.default_rng(0)
    for grid in ((6, 1), (3, 1), (4, 1), (3, 2)):
        for side in ('top', 'bottom', 'left', 'right'):
            ratio = float(rng.uniform(0.5, 1.0))
            box = side_crop_box(192, 64, ratio, side)
            boxes = region_boxes_after_crop(grid, (192, 64), box, (192, 64))
            labels, visible = project_region_labels(boxes, 8, 24, 8)
            assert labels.shape == (24, 8)
            assert labels.min() >= 0 and labels.max() < grid[0] * grid[1]
            present = np.zeros(grid[0] * grid[1], bool)
            present[np.unique(labels)] = True
            np.testing.assert_array_equal(present, visible)


def test_anisotropic_stride_and_uncovered_cells():
    # one region covering the right half of a 4 x 8 input, strides (2, 4) -> 2 x 2 grid
    labels, visible = project_region_labels(np.array([[4, 0, 8, 4]]), (2, 4), 2, 2)
    assert labels.tolist() == [[-1, 0], [-1, 0]]
    assert visible.tolist() == [True]


def test_flip_order_swaps_columns():
    assert flip_region_order((3, 2)).tolist() == [1, 0, 3, 2, 5, 4]
    assert flip_region_order((6, 1)).tolist() == list(range(6))
    # flipping the holistic image before a symmetric (top) crop mirrors the label map,
    # columns c <-> n - 1 - c (invariant 4)
    box = side_crop_box(24, 8, 0.75, 'top')
    boxes = region_boxes_after_crop((3, 2), (24, 8), box, (24, 8))
    labels, _ = project_region_labels(boxes, 1, 24, 8)
    mirrored = flip_region_order((3, 2))[labels[:, ::-1]]
    np.testing.assert_array_equal(mirrored, labels)


def test_bad_grids():
    for bad in ((0, 1), (6, ), (2.5, 1), 'ab', (16, 16)):
        with pytest.raises(ValueError, match='grid'):
            check_grid(bad)
    assert check_grid([3, 2]) == (3, 2)


def test_top_crop_shows_regions_up_to_ceil_6_gamma():
    # 6 x 1 on a 384-row input, stride 16: the highest visible stripe is ceil(6 gamma) - 1,
    # label 0 always shows and the labels never decrease down the rows (invariant 2);
    # gammas chosen away from the rounding borders
    for gamma in (0.55, 0.62, 0.7, 0.78, 0.9, 0.95, 1.0):
        box = side_crop_box(384, 128, gamma, 'top')
        labels, visible = project_region_labels(
            region_boxes_after_crop((6, 1), (384, 128), box, (384, 128)), 16, 24, 8)
        rows = labels[:, 0]
        assert rows[0] == 0 and (np.diff(rows) >= 0).all()
        assert rows.max() == int(np.ceil(6 * gamma)) - 1, gamma
        bottom = side_crop_box(384, 128, gamma, 'bottom')
        labels, _ = project_region_labels(
            region_boxes_after_crop((6, 1), (384, 128), bottom, (384, 128)), 16, 24, 8)
        assert labels[-1, 0] == 5 and labels[0, 0] == 6 - int(np.ceil(6 * gamma))
