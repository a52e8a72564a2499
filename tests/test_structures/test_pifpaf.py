"""Tests of the PifPaf field grouping (BPBreID part labels)."""
import numpy as np
import pytest

from mmreidparts.structures import get_part_scheme
from mmreidparts.structures.pifpaf import (
    PIFPAF_FIELD_ID,
    PIFPAF_FIELDS,
    PIFPAF_GROUPINGS,
    fields_to_label_map,
    group_fields,
    pifpaf_grouping,
)


def _fields(h: int = 2, w: int = 3) -> np.ndarray:
    return np.zeros((36, h, w), dtype=np.float32)


def test_field_order():
    assert len(PIFPAF_FIELDS) == 36
    assert PIFPAF_FIELDS[0] == 'nose' and PIFPAF_FIELDS[16] == 'r_ankle'
    assert PIFPAF_FIELDS[17] == 'l_ankle-l_knee' and PIFPAF_FIELDS[35] == 'r_ear-r_shoulder'
    assert PIFPAF_FIELD_ID['l_hip-r_hip'] == 21


@pytest.mark.parametrize('name', sorted(PIFPAF_GROUPINGS))
def test_groupings_follow_scheme_order_and_cover_all_fields(name):
    groups = pifpaf_grouping(name)
    assert len(groups) == get_part_scheme(name).num_parts
    used = {i for g in groups for i in g}
    # The release's five_v leaves the hip-hip and left shoulder-hip connections unused.
    unused = ({PIFPAF_FIELD_ID['l_hip-r_hip'], PIFPAF_FIELD_ID['l_shoulder-l_hip']}
              if name == 'bpbreid5v' else set())
    assert used == set(range(36)) - unused


def test_eight_parts_by_hand():
    f = _fields()
    f[PIFPAF_FIELD_ID['nose'], 0, 0] = 0.9          # head
    f[PIFPAF_FIELD_ID['l_wrist'], 0, 1] = 0.7       # l_arm (2)
    f[PIFPAF_FIELD_ID['r_elbow'], 0, 2] = 0.6       # r_arm (3)
    f[PIFPAF_FIELD_ID['l_hip-r_hip'], 1, 0] = 0.8   # torso (4) and l_leg (5): torso first
    f[PIFPAF_FIELD_ID['r_ankle'], 1, 1] = 0.4       # below threshold -> background
    f[PIFPAF_FIELD_ID['l_ankle'], 1, 2] = 0.55      # l_foot (7)
    f[PIFPAF_FIELD_ID['r_knee'], 1, 2] = 0.6        # r_leg (6) wins by value
    grouped = group_fields(f, 'bpbreid8')
    assert grouped.shape == (8, 2, 3)
    assert grouped[3, 1, 0] == pytest.approx(0.8) and grouped[4, 1, 0] == pytest.approx(0.8)
    labels = fields_to_label_map(f, 'bpbreid8')
    np.testing.assert_array_equal(labels, [[1, 2, 3], [4, 0, 6]])
    assert labels.dtype == np.uint8
    # A lower threshold turns the right ankle into the right foot.
    assert fields_to_label_map(f, 'eight', threshold=0.3)[1, 1] == 8


def test_group_is_max_and_adding_a_field_never_lowers_it():
    f = _fields(1, 1)
    f[PIFPAF_FIELD_ID['l_eye'], 0, 0] = 0.3
    f[PIFPAF_FIELD_ID['nose-r_eye'], 0, 0] = 0.6
    assert group_fields(f, 'bpbreid5')[0, 0, 0] == pytest.approx(0.6)
    f[PIFPAF_FIELD_ID['r_ear'], 0, 0] = 0.2
    assert group_fields(f, 'bpbreid5')[0, 0, 0] == pytest.approx(0.6)


def test_eleven_and_five_v_splits():
    f = _fields(1, 4)
    f[PIFPAF_FIELD_ID['l_shoulder-r_shoulder'], 0, 0] = 1.0
    f[PIFPAF_FIELD_ID['l_hip'], 0, 1] = 1.0
    f[PIFPAF_FIELD_ID['r_wrist'], 0, 2] = 1.0
    f[PIFPAF_FIELD_ID['l_shoulder-l_elbow'], 0, 3] = 1.0
    # bpbreid11 order: head, upper_torso, lower_torso, r_upper_arm, r_lower_arm,
    # l_upper_arm, l_lower_arm, r_leg, l_leg, r_foot, l_foot
    np.testing.assert_array_equal(fields_to_label_map(f, 'bpbreid11'), [[2, 3, 5, 6]])
    # five_v: head, upper arms+torso, lower arms+torso, legs, feet
    np.testing.assert_array_equal(fields_to_label_map(f, 'five_v'), [[2, 3, 3, 2]])
    assert get_part_scheme('bpbreid5v').num_parts == 5


def test_one_part_is_foreground():
    f = _fields(1, 2)
    f[PIFPAF_FIELD_ID['r_knee-r_hip'], 0, 1] = 0.5   # exactly the threshold counts
    np.testing.assert_array_equal(fields_to_label_map(f, 'bpbreid1'), [[0, 1]])


def test_bad_input():
    with pytest.raises(ValueError, match=r'\[36, h, w\].*\[17, 4, 4\]'):
        group_fields(np.zeros((17, 4, 4)), 'bpbreid8')
    with pytest.raises(KeyError, match='no PifPaf grouping'):
        group_fields(_fields(), 'pal7')
