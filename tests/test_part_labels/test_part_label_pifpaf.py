"""The PifPaf field backend: BPBReID's groupings (bpbreid.md 2.2) through the generator."""
import os
import os.path as osp

import numpy as np
import pytest

from mmreidparts.part_labels import PifPafFieldBackend, read_label_map, run_generation
from mmreidparts.structures.pifpaf import PIFPAF_FIELD_ID

# One field set to 1 per column; the expected id of that column, worked out from the
# groupings of bpbreid.md 2.2.7 (a field in two groups goes to the first in part order).
PROBES = ['nose', 'l_eye-l_ear', 'r_ear-r_shoulder', 'l_shoulder', 'r_elbow-r_wrist',
          'l_shoulder-r_shoulder', 'l_hip', 'l_hip-r_hip', 'l_knee', 'r_knee-r_hip',
          'l_ankle-l_knee', 'l_ankle', 'r_ankle']
EXPECTED = {
    # head, l_arm, r_arm, torso, l_leg, r_leg, l_foot, r_foot
    'bpbreid8': [1, 1, 1, 2, 3, 4, 4, 4, 5, 6, 5, 7, 8],
    # head, arms, torso, legs, feet
    'bpbreid5': [1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5],
    # upper body, lower body
    'bpbreid2': [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2],
}


def probe_fields() -> np.ndarray:
    """[36, 3, 13] fields: row 0 the probes at 1.0, row 1 at 0.4 (below threshold)."""
    fields = np.zeros((36, 3, len(PROBES)), np.float32)
    for col, name in enumerate(PROBES):
        fields[PIFPAF_FIELD_ID[name], 0, col] = 1.0
        fields[PIFPAF_FIELD_ID[name], 1, col] = 0.4
    fields[PIFPAF_FIELD_ID['nose'], 2, 0] = 0.7  # the larger field wins:
    fields[PIFPAF_FIELD_ID['l_knee'], 2, 0] = 0.9  # l_leg
    return fields


@pytest.fixture
def field_root(tmp_path) -> str:
    root = tmp_path / 'pifpaf' / 'bounding_box_train'
    os.makedirs(root)
    fields = probe_fields()
    np.save(root / '0001_c1s1_000000_00.jpg.confidence_fields.npy', fields)
    np.save(root / '0002_c1s1_000000_00.npy', np.moveaxis(fields, 0, -1))  # [h, w, 36]
    np.save(root / '0003_c1s1_000000_00.npy', np.zeros((10, 3, 3), np.float32))
    with open(root / '0004_c1s1_000000_00.npy', 'wb') as f:
        f.write(b'not numpy')
    return str(tmp_path / 'pifpaf')


def test_pifpaf_groupings_match_bpbreid(tmp_path, field_root: str) -> None:
    out = run_generation(PifPafFieldBackend(), str(tmp_path), list(EXPECTED),
                         field_root=field_root, progress=False)
    for scheme, expected in EXPECTED.items():
        for stem in ('0001_c1s1_000000_00', '0002_c1s1_000000_00'):
            labels = read_label_map(osp.join(str(tmp_path), 'masks', scheme,
                                             'bounding_box_train', stem + '.png'))
            assert labels.shape == (3, len(PROBES))
            assert labels[0].tolist() == expected, (scheme, stem)
            assert labels[1].max() == 0  # 0.4 < threshold 0.5
        assert out[scheme]['processed'] == 2
    labels = read_label_map(osp.join(str(tmp_path), 'masks', 'bpbreid8', 'bounding_box_train',
                                     '0001_c1s1_000000_00.png'))
    assert labels[2, 0] == 5
    bad = sorted(osp.basename(u['path']) for u in out['bpbreid8']['unreadable'])
    assert bad == ['0003_c1s1_000000_00.npy', '0004_c1s1_000000_00.npy']
    errors = ' '.join(u['error'] for u in out['bpbreid8']['unreadable'])
    assert 'expected PifPaf fields of shape [36, h, w]' in errors


def test_pifpaf_threshold_option(tmp_path, field_root: str) -> None:
    run_generation(PifPafFieldBackend(threshold=0.3), str(tmp_path), ['bpbreid8'],
                   field_root=field_root, progress=False)
    labels = read_label_map(osp.join(str(tmp_path), 'masks', 'bpbreid8', 'bounding_box_train',
                                     '0001_c1s1_000000_00.png'))
    assert labels[1].tolist() == EXPECTED['bpbreid8']


def test_pifpaf_rejects_schemes_without_grouping(tmp_path, field_root: str) -> None:
    with pytest.raises(ValueError, match="cannot write scheme 'atoms13'"):
        run_generation(PifPafFieldBackend(), str(tmp_path), ['atoms13'],
                       field_root=field_root, progress=False)
