"""Rendering of single synthetic images: determinism, left/right, occlusion, keypoints."""
import numpy as np
import pytest

from mmreidparts.structures.part_schemes import ATOM_ID, ATOMS
from mmreidparts.synthetic import (
    COCO_KEYPOINTS,
    OCCLUDER_KINDS,
    Placement,
    Pose,
    render_sample,
    sample_cameras,
    sample_identities,
)

SIZE = (128, 64)
KP = {name: i for i, name in enumerate(COCO_KEYPOINTS)}


@pytest.fixture(scope='module')
def people():
    """A few identities and the six cameras of seed 0."""
    return sample_identities(6, seed=0), sample_cameras(6, seed=0)


def _standing(yaw: float) -> Pose:
    return Pose(yaw=yaw, phase=0.0, stride=0.05, arm_swing=0.05, lean_forward=0.0,
                lean_side=0.0)


def _mean_col(atoms: np.ndarray, side: str) -> float:
    ids = [ATOM_ID[a] for a in ATOMS if a.startswith(side + '_')]
    cols = np.nonzero(np.isin(atoms, ids))[1]
    assert cols.size > 20
    return float(cols.mean())


def test_same_seed_same_image_other_seed_other_image(people):
    idents, cams = people
    a = render_sample(idents[0], cams[0], seed=3, index=2, size=SIZE, occluded=True)
    b = render_sample(idents[0], cams[0], seed=3, index=2, size=SIZE, occluded=True)
    c = render_sample(idents[0], cams[0], seed=4, index=2, size=SIZE, occluded=True)
    d = render_sample(idents[0], cams[0], seed=3, index=3, size=SIZE, occluded=True)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.atoms, b.atoms)
    assert np.array_equal(a.keypoints, b.keypoints) and a.jpeg_quality == b.jpeg_quality
    assert not np.array_equal(a.image, c.image) and not np.array_equal(a.atoms, c.atoms)
    assert not np.array_equal(a.atoms, d.atoms)


def test_all_atoms_drawn_in_a_frontal_view(people):
    idents, cams = people
    s = render_sample(idents[1], cams[0], 0, 0, (256, 128), pose=_standing(0.0),
                      placement=Placement(scale=200.0, cx=64.0, ground=230.0))
    assert s.image.shape == (256, 128, 3) and s.image.dtype == np.uint8
    assert set(np.unique(s.atoms)) == set(range(len(ATOMS) + 1))
    # Head above torso above legs above feet.
    rows = {a: np.nonzero(s.atoms == ATOM_ID[a])[0].mean()
            for a in ('head', 'upper_torso', 'lower_torso', 'l_lower_leg', 'l_foot')}
    assert rows['head'] < rows['upper_torso'] < rows['lower_torso'] < rows['l_lower_leg'] \
        < rows['l_foot']


def test_front_view_puts_left_parts_on_image_right(people):
    idents, cams = people
    s = render_sample(idents[2], cams[0], 0, 0, SIZE, pose=_standing(0.0))
    assert _mean_col(s.atoms, 'l') > _mean_col(s.atoms, 'r') + 5
    assert s.keypoints[KP['left_shoulder'], 0] > s.keypoints[KP['right_shoulder'], 0]
    assert s.keypoints[KP['left_hip'], 0] > s.keypoints[KP['right_hip'], 0]
    assert s.keypoints[KP['nose'], 2] == 2  # the face is seen


def test_back_view_puts_left_parts_on_image_left(people):
    idents, cams = people
    s = render_sample(idents[2], cams[0], 0, 0, SIZE, pose=_standing(np.pi))
    assert _mean_col(s.atoms, 'l') + 5 < _mean_col(s.atoms, 'r')
    assert s.keypoints[KP['left_shoulder'], 0] < s.keypoints[KP['right_shoulder'], 0]
    assert s.keypoints[KP['nose'], 2] == 1  # inside the crop, hidden by the head
    assert s.keypoints[KP['left_eye'], 2] == 1


def test_side_view_hides_the_far_arm(people):
    idents, cams = people
    pose = Pose(yaw=np.pi / 2, phase=0.0, stride=0.05, arm_swing=0.05, lean_forward=0.0,
                lean_side=0.0)  # walking towards the image right: the right side is near
    s = render_sample(idents[3], cams[0], 0, 0, SIZE, pose=pose)
    near = (s.atoms == ATOM_ID['r_upper_arm']).sum()
    far = (s.atoms == ATOM_ID['l_upper_arm']).sum()
    assert near > 2 * far
    assert s.keypoints[KP['right_shoulder'], 2] == 2
    assert s.keypoints[KP['left_shoulder'], 2] == 1


@pytest.mark.parametrize('kind', OCCLUDER_KINDS)
def test_occluder_only_removes_target_pixels(people, kind):
    idents, cams = people
    clean = render_sample(idents[4], cams[1], 0, 5, SIZE, occluded=False)
    occ = render_sample(idents[4], cams[1], 0, 5, SIZE, occluded=True, occluder=kind)
    assert clean.occluder is None and occ.occluder in OCCLUDER_KINDS
    fg_clean, fg_occ = (clean.atoms > 0).sum(), (occ.atoms > 0).sum()
    assert fg_occ < fg_clean
    # Occluded pixels become background; no pixel gains a target part.
    assert np.all((occ.atoms == clean.atoms) | (occ.atoms == 0))
    hidden = (clean.atoms > 0) & (occ.atoms == 0)
    assert np.abs(occ.image[hidden].astype(int) - clean.image[hidden].astype(int)).mean() > 5
    # Keypoints on hidden pixels are reported as occluded, never as visible.
    for x, y, v in occ.keypoints:
        if v == 2:
            assert (occ.atoms[max(int(y) - 1, 0):int(y) + 2,
                              max(int(x) - 1, 0):int(x) + 2] > 0).any()
    assert (occ.keypoints[:, 2] == 2).sum() <= (clean.keypoints[:, 2] == 2).sum()


def test_keypoints_outside_the_crop_have_v0(people):
    idents, cams = people
    # Soles 40 pixels below the bottom edge: ankles and knees are outside the crop.
    place = Placement(scale=120.0, cx=32.0, ground=SIZE[0] + 40.0)
    s = render_sample(idents[0], cams[0], 0, 0, SIZE, pose=_standing(0.0), placement=place)
    for name in ('left_ankle', 'right_ankle'):
        assert s.keypoints[KP[name], 2] == 0
        assert s.keypoints[KP[name], 1] >= SIZE[0]
    assert s.keypoints[KP['left_shoulder'], 2] == 2
    assert (s.atoms == ATOM_ID['l_foot']).sum() == 0


def test_identities_are_distinct_but_share_colours():
    idents = sample_identities(300, seed=0)
    keys = [i.key() for i in idents]
    assert len(set(keys)) == len(keys)
    assert [i.pid for i in idents] == list(range(1, 301))
    tops = [i.top for i in idents]
    # Many identities wear the same top colour: parts must be combined to tell them apart.
    assert max(tops.count(t) for t in set(tops)) >= 20
    assert sample_identities(5, seed=0) == idents[:5]
    assert sample_identities(5, seed=1) != idents[:5]
