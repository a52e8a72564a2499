"""COCO DensePose's 14 parts to the 7 parts of part awareness learning."""
import numpy as np
import pytest

from mmreidparts.part_labels import DENSEPOSE_TO_PAL7, densepose_to_pal7
from mmreidparts.structures import get_part_scheme


def test_the_map_covers_every_pal7_id_and_merges_sides():
    assert DENSEPOSE_TO_PAL7.shape == (15, )
    assert sorted(set(DENSEPOSE_TO_PAL7.tolist())) == list(range(8))
    assert DENSEPOSE_TO_PAL7.max() == get_part_scheme('pal7').num_parts
    # (right, left) pairs: hands 2/3, feet 5/4, upper legs 6/7, lower legs 8/9,
    # upper arms 11/10, lower arms 13/12
    for right, left in ((2, 3), (5, 4), (6, 7), (8, 9), (11, 10), (13, 12)):
        assert DENSEPOSE_TO_PAL7[right] == DENSEPOSE_TO_PAL7[left]
    names = get_part_scheme('pal7').names
    assert names[DENSEPOSE_TO_PAL7[2] - 1] == 'lower_arm'  # the hands join the lower arms
    assert names[DENSEPOSE_TO_PAL7[14] - 1] == 'head'
    assert names[DENSEPOSE_TO_PAL7[1] - 1] == 'torso'


def test_densepose_to_pal7_maps_a_mask_and_checks_ids():
    mask = np.array([[0, 1, 14], [4, 5, 12]], dtype=np.uint8)
    np.testing.assert_array_equal(densepose_to_pal7(mask), [[0, 2, 1], [7, 7, 4]])
    assert densepose_to_pal7(mask).dtype == np.uint8
    with pytest.raises(ValueError, match='id 15'):
        densepose_to_pal7(np.array([[15]]))
    with pytest.raises(ValueError, match='integer'):
        densepose_to_pal7(np.array([[0.5]]))
