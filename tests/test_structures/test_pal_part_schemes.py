"""The label granularities of part awareness learning: pal7 and its coarsenings."""
import numpy as np
import pytest

from mmreidparts.datasets.transforms import ReIDRandomFlip
from mmreidparts.structures import get_part_scheme
from mmreidparts.structures.part_schemes import ATOM_ID, regroup_lut

# pal.md 2.2, Table VI: the variants as maps of the 7-part ids 0..7
SEVEN_TO = {
    'pal1': [0, 1, 1, 1, 1, 1, 1, 1],
    'pal2': [0, 1, 1, 1, 1, 2, 2, 2],
    'pal4': [0, 1, 2, 2, 2, 3, 4, 4],
    'pal7': [0, 1, 2, 3, 4, 5, 6, 7],
}


def test_pal7_ids_are_the_release_order():
    assert get_part_scheme('pal7').names == ('head', 'torso', 'upper_arm', 'lower_arm',
                                             'upper_leg', 'lower_leg', 'foot')
    assert get_part_scheme('pal7').flip_pairs == ()  # no class carries a side


@pytest.mark.parametrize('variant', sorted(SEVEN_TO))
def test_granularity_remaps_follow_the_table(variant):
    lut = regroup_lut('pal7', variant)
    assert lut.tolist() == SEVEN_TO[variant]
    num = get_part_scheme(variant).num_parts
    assert lut.max() == num and lut[0] == 0  # outputs in [0, M), background stays 0
    assert sorted(set(lut.tolist())) == list(range(num + 1))


def test_granularities_compose():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 8, size=(6, 5)).astype(np.uint8)
    seven_to_two = regroup_lut('pal7', 'pal2')[label]
    via_four = regroup_lut('pal4', 'pal2')[regroup_lut('pal7', 'pal4')[label]]
    np.testing.assert_array_equal(via_four, seven_to_two)
    for variant in ('pal2', 'pal4', 'pal7'):
        fg = regroup_lut(variant, 'pal1')[regroup_lut('pal7', variant)[label]]
        np.testing.assert_array_equal(fg, (label > 0).astype(np.uint8))
    with pytest.raises(ValueError, match='split'):
        regroup_lut('pal2', 'pal7')  # a coarser scheme cannot be refined


def test_atoms_regroup_into_pal7_merging_left_and_right():
    lut = regroup_lut('atoms13', 'pal7')
    assert lut[ATOM_ID['l_upper_arm']] == lut[ATOM_ID['r_upper_arm']] == 3
    assert lut[ATOM_ID['upper_torso']] == lut[ATOM_ID['lower_torso']] == 2
    assert lut[ATOM_ID['l_foot']] == lut[ATOM_ID['r_foot']] == 7


def test_flip_keeps_the_class_histogram_of_pal7_labels():
    rng = np.random.default_rng(1)
    label = rng.integers(0, 8, size=(8, 4)).astype(np.uint8)
    results = dict(img=np.zeros((8, 4, 3), np.uint8), img_shape=(8, 4),
                   gt_seg_map=label.copy(), part_scheme='pal7')
    out = ReIDRandomFlip(prob=1.0)(results)
    np.testing.assert_array_equal(out['gt_seg_map'], label[:, ::-1])  # mirrored, no remap
    np.testing.assert_array_equal(np.bincount(out['gt_seg_map'].ravel(), minlength=8),
                                  np.bincount(label.ravel(), minlength=8))
