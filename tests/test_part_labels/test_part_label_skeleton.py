"""Part assignment from a COCO skeleton: hand-made skeletons, schemes, flip, target choice."""
import numpy as np
import pytest

from mmreidparts.part_labels.skeleton import (
    KP,
    CapsuleWidths,
    assign_atoms,
    body_scale,
    build_capsules,
    flip_keypoints,
    select_target,
)
from mmreidparts.structures.part_schemes import ATOM_ID, ATOMS, get_part_scheme


def skeleton(points: dict) -> np.ndarray:
    """[17, 3] keypoints from ``{name: (x, y)}`` (others missing)."""
    kps = np.zeros((17, 3))
    for name, (x, y) in points.items():
        kps[KP[name]] = (x, y, 2)
    return kps


# A person facing the camera in a 64 x 128 crop: their left is on the image right.
FRONT = skeleton(dict(
    nose=(32, 14), l_eye=(34, 12), r_eye=(30, 12), l_ear=(37, 13), r_ear=(27, 13),
    l_shoulder=(42, 28), r_shoulder=(22, 28), l_elbow=(46, 46), r_elbow=(18, 46),
    l_wrist=(48, 62), r_wrist=(16, 62), l_hip=(38, 66), r_hip=(26, 66),
    l_knee=(39, 90), r_knee=(25, 90), l_ankle=(40, 114), r_ankle=(24, 114)))

# (row, col) of a pixel inside each atom of FRONT, in ATOMS order: the face centre, the
# chest, the belly, the middle of each limb segment, just below each ankle.
PROBES = {
    'head': (12, 32), 'upper_torso': (36, 32), 'lower_torso': (58, 32),
    'l_upper_arm': (37, 44), 'l_lower_arm': (54, 47), 'r_upper_arm': (37, 19),
    'r_lower_arm': (54, 16), 'l_upper_leg': (78, 38), 'l_lower_leg': (102, 39),
    'r_upper_leg': (78, 25), 'r_lower_leg': (102, 24), 'l_foot': (119, 39),
    'r_foot': (119, 23),
}
BACKGROUND = [(0, 0), (127, 63), (60, 2), (5, 60)]

# Expected label id of each probe (ATOMS order) per scheme, from the part lists of
# bpbreid.md 2.2 and pal.md 2.2.
EXPECTED = {
    'bpbreid2': [1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2],
    'bpbreid3': [1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3],
    'bpbreid4': [1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4],
    'bpbreid5': [1, 3, 3, 2, 2, 2, 2, 4, 4, 4, 4, 5, 5],
    'bpbreid6': [1, 2, 2, 4, 4, 3, 3, 5, 5, 5, 5, 6, 6],
    'bpbreid8': [1, 4, 4, 2, 2, 3, 3, 5, 5, 6, 6, 7, 8],
    'bpbreid11': [1, 2, 3, 6, 7, 4, 5, 9, 9, 8, 8, 11, 10],
    'pal7': [1, 2, 2, 3, 4, 3, 4, 5, 6, 5, 6, 7, 7],
    'atoms13': list(range(1, 14)),
}


def test_front_skeleton_atoms() -> None:
    labels = assign_atoms(FRONT, (128, 64))
    assert labels.shape == (128, 64) and labels.dtype == np.uint8
    for atom, (r, c) in PROBES.items():
        assert labels[r, c] == ATOM_ID[atom], atom
    for r, c in BACKGROUND:
        assert labels[r, c] == 0
    assert set(np.unique(labels)) == set(range(14))


@pytest.mark.parametrize('scheme', sorted(EXPECTED))
def test_front_skeleton_every_scheme(scheme: str) -> None:
    sch = get_part_scheme(scheme)
    labels = sch.from_atoms(assign_atoms(FRONT, (128, 64)))
    got = [int(labels[PROBES[a]]) for a in ATOMS]
    assert got == EXPECTED[scheme]
    assert all(labels[rc] == 0 for rc in BACKGROUND)
    assert set(np.unique(labels)) == set(range(sch.num_parts + 1))


def test_single_limb_band_by_hand() -> None:
    # Only the left thigh: hip (5.5, 3), knee (5.5, 13). Body scale = 1.15 * 10 = 11.5,
    # radius 0.14 * 11.5 = 1.61. Pixel centres (j + .5, i + .5) within 1.61 of the segment:
    # columns 4..6 for rows 2..13, and the caps (1, 5) and (14, 5).
    kps = skeleton(dict(l_hip=(5.5, 3.0), l_knee=(5.5, 13.0)))
    assert body_scale(kps, 16) == pytest.approx(11.5)
    labels = assign_atoms(kps, (16, 11), widths=CapsuleWidths(upper_leg=0.14))
    expected = np.zeros((16, 11), np.uint8)
    expected[2:14, 4:7] = ATOM_ID['l_upper_leg']
    expected[1, 5] = expected[14, 5] = ATOM_ID['l_upper_leg']
    np.testing.assert_array_equal(labels, expected)


def test_mask_limits_labels_to_person_pixels() -> None:
    kps = skeleton(dict(l_hip=(5.5, 3.0), l_knee=(5.5, 13.0)))
    mask = np.zeros((16, 11), bool)
    mask[:, :5] = True
    labels = assign_atoms(kps, (16, 11), mask, CapsuleWidths(upper_leg=0.14))
    # every mask pixel is within 0.6 * 11.5 = 6.9 of the thigh capsule, nothing else is
    np.testing.assert_array_equal(labels, np.where(mask, ATOM_ID['l_upper_leg'], 0))
    with pytest.raises(ValueError, match='mask shape'):
        assign_atoms(kps, (16, 12), mask)


def test_missing_keypoints_remove_their_segments() -> None:
    kps = FRONT.copy()
    kps[KP['l_elbow'], 2] = 0
    kps[KP['r_ankle'], 2] = 0
    present = set(np.unique(assign_atoms(kps, (128, 64))))
    for atom in ('l_upper_arm', 'l_lower_arm', 'r_lower_leg', 'r_foot'):
        assert ATOM_ID[atom] not in present, atom
    for atom in ('head', 'r_upper_arm', 'l_foot', 'r_upper_leg'):
        assert ATOM_ID[atom] in present, atom
    assert assign_atoms(np.zeros((17, 3)), (8, 8)).max() == 0
    with pytest.raises(ValueError, match=r'\[17, 3\]'):
        build_capsules(np.zeros((16, 3)), 10)


@pytest.mark.parametrize('scheme', sorted(EXPECTED))
@pytest.mark.parametrize('with_mask', [False, True])
def test_mirrored_skeleton_equals_flipped_labels(scheme: str, with_mask: bool) -> None:
    # An asymmetric pose (three-quarter view, one arm raised) on a 70 x 150 crop.
    kps = skeleton(dict(
        nose=(30.3, 15.2), l_eye=(32.1, 13.1), r_eye=(28.7, 13.4), l_ear=(35.2, 14.0),
        l_shoulder=(41.3, 31.7), r_shoulder=(21.6, 30.2), l_elbow=(52.4, 20.3),
        r_elbow=(17.9, 49.6), l_wrist=(57.1, 8.8), r_wrist=(19.3, 66.1), l_hip=(37.4, 74.2),
        r_hip=(24.8, 73.1), l_knee=(44.6, 101.3), r_knee=(22.2, 104.7),
        l_ankle=(47.3, 128.6), r_ankle=(20.1, 133.9)))
    h, w = 150, 70
    mask = None
    if with_mask:
        yy, xx = np.mgrid[:h, :w]
        mask = ((xx - 33) / 30.0) ** 2 + ((yy - 75) / 72.0) ** 2 <= 1.0
    sch = get_part_scheme(scheme)
    labels = sch.from_atoms(assign_atoms(kps, (h, w), mask))
    mirrored = sch.from_atoms(assign_atoms(flip_keypoints(kps, w), (h, w),
                                           None if mask is None else mask[:, ::-1]))
    expected = sch.flip_lut()[labels[:, ::-1]]
    np.testing.assert_array_equal(mirrored, expected)
    if sch.flip_pairs:
        assert not np.array_equal(mirrored, labels[:, ::-1])  # ids really were swapped


def test_flip_keypoints_swaps_sides() -> None:
    kps = skeleton(dict(l_shoulder=(40.0, 30.0), r_shoulder=(20.0, 31.0)))
    out = flip_keypoints(kps, 64)
    np.testing.assert_allclose(out[KP['l_shoulder']], (44.0, 31.0, 2))  # was the right one
    np.testing.assert_allclose(out[KP['r_shoulder']], (24.0, 30.0, 2))
    assert out[KP['nose'], 2] == 0


def test_person_left_appears_on_image_right() -> None:
    labels = assign_atoms(FRONT, (128, 64))
    cols = np.nonzero(labels == ATOM_ID['l_upper_arm'])[1]
    assert cols.min() > 32  # a facing person's left arm is on the right of the image


def test_select_target_head_nearest_top_centre() -> None:
    w, h = 64, 128
    left = skeleton(dict(nose=(8, 10), l_shoulder=(14, 25), r_shoulder=(2, 25)))
    centre_low = skeleton(dict(nose=(32, 40), l_shoulder=(40, 55), r_shoulder=(24, 55)))
    centre_top = skeleton(dict(nose=(30, 12), l_eye=(32, 10), r_eye=(28, 10)))
    # head distances to (32, 0): left 26.0, centre_low 40.0, centre_top ~11.5
    assert select_target([left, centre_low, centre_top], w, h) == 2
    assert select_target([left, centre_low], w, h) == 0
    # without a face the head is a third of the body scale above the shoulders:
    # shoulder width 16 -> scale 22.4 -> head at (32, 55 - 7.47) = 47.5 from the top centre
    headless = skeleton(dict(l_shoulder=(40, 55), r_shoulder=(24, 55)))
    assert select_target([headless, centre_low], w, h) == 1
    assert select_target([np.zeros((17, 3))], w, h) is None
    assert select_target([], w, h) is None


def test_body_scale_fallbacks() -> None:
    assert body_scale(FRONT, 128) == pytest.approx(38.0)  # (32, 28) -> (32, 66)
    assert body_scale(skeleton(dict(l_shoulder=(10, 0), r_shoulder=(0, 0))), 90) == \
        pytest.approx(14.0)
    assert body_scale(skeleton(dict(nose=(0, 0), l_ear=(4, 2))), 90) == pytest.approx(10.0)
    assert body_scale(np.zeros((17, 3)), 90) == pytest.approx(30.0)


def test_hidden_limb_lies_behind_visible_parts() -> None:
    # The right forearm crosses the chest; the elbow pixel (row 40, col 32) is inside both
    # the torso and the arm capsules.
    kps = FRONT.copy()
    kps[KP['r_elbow']] = (32, 40, 2)
    kps[KP['r_wrist']] = (40, 50, 2)
    visible = assign_atoms(kps, (128, 64))
    assert visible[40, 32] in (ATOM_ID['r_upper_arm'], ATOM_ID['r_lower_arm'])
    kps[KP['r_elbow'], 2] = 1  # labelled but hidden (behind the body)
    hidden = assign_atoms(kps, (128, 64))
    assert hidden[40, 32] == ATOM_ID['upper_torso']
    # outside every visible capsule the hidden arm still gets its pixels
    assert ATOM_ID['r_lower_arm'] in set(np.unique(hidden))


@pytest.mark.parametrize('scheme', ['bpbreid8', 'bpbreid11', 'atoms13'])
def test_mirrored_skeleton_matches_pipeline_flip(scheme: str) -> None:
    transforms = pytest.importorskip('mmreidparts.datasets.transforms.processing')
    kps = FRONT.copy()
    kps[KP['l_wrist']] = (55.3, 30.1, 2)  # raise the left hand: not mirror-symmetric
    sch = get_part_scheme(scheme)
    labels = sch.from_atoms(assign_atoms(kps, (128, 64)))
    results = dict(img=np.zeros((128, 64, 3), np.uint8), gt_seg_map=labels,
                   part_scheme=scheme, img_path='x.jpg')
    flipped = transforms.ReIDRandomFlip(prob=1.0).transform(results)['gt_seg_map']
    mirrored = sch.from_atoms(assign_atoms(flip_keypoints(kps, 64), (128, 64)))
    np.testing.assert_array_equal(mirrored, flipped)
