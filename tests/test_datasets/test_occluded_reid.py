"""Tests of the Occluded-REID dataset (per-identity folders, test only or half split)."""
import cv2
import numpy as np
import pytest

from mmreidparts.datasets.occluded_reid import OccludedREID
from mmreidparts.registry import DATASETS


def _write(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((8, 4, 3), np.uint8))


def _build(root, ids=(1, 2, 3, 4), per_id=2):
    for kind in ('occluded_body_images', 'whole_body_images'):
        for pid in ids:
            for n in range(1, per_id + 1):
                _write(root / kind / f'{pid:03d}' / f'{pid:03d}_{n:02d}.tif')
    return str(root)


def test_test_mode_reads_all_ids(tmp_path):
    root = _build(tmp_path / 'Occluded_REID')
    ds = DATASETS.build(dict(type='OccludedREID', data_root=root, check_counts='off'))
    assert ds.mode == 'test' and len(ds) == 16
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    query = [d for d in infos if d['is_query']]
    assert len(query) == 8 and {d['camid'] for d in query} == {0}
    assert {d['camid'] for d in infos if not d['is_query']} == {1}
    assert query[0]['pid'] == 1 and query[0]['img_path'].endswith('occluded_body_images/001/'
                                                                   '001_01.tif')
    assert {d['gt_label'] for d in infos} == {-1}
    assert OccludedREID.EVAL_PROTOCOL == 'all'


def test_expected_counts_checked(tmp_path):
    root = _build(tmp_path / 'o')
    with pytest.raises(ValueError, match=r'8 images of 4 identities, expected 1000 images of '
                       r'200'):
        OccludedREID(root, check_counts='error')
    with pytest.warns(UserWarning, match='expected 1000'):
        OccludedREID(root, mode='query')


def test_half_split_is_seeded_and_disjoint(tmp_path):
    root = _build(tmp_path / 'o')
    train = OccludedREID(root, mode='train', split='half', split_seed=1, check_counts='off')
    test = OccludedREID(root, mode='test', split='half', split_seed=1, check_counts='off')
    train_ids = set(train.get_pids())
    test_ids = set(test.get_pids())
    assert len(train_ids) == 2 and len(test_ids) == 2 and not train_ids & test_ids
    assert len(train) == 8 and {train.get_data_info(i)['camid'] for i in range(8)} == {0, 1}
    assert sorted(train.get_data_info(i)['gt_label'] for i in range(8)) == [0] * 4 + [1] * 4
    again = OccludedREID(root, mode='train', split='half', split_seed=1, check_counts='off')
    assert set(again.get_pids()) == train_ids


def test_train_needs_the_half_split(tmp_path):
    with pytest.raises(ValueError, match='test-only'):
        OccludedREID(_build(tmp_path / 'o'), mode='train')


def test_bad_layout(tmp_path):
    root = _build(tmp_path / 'o')
    _write(tmp_path / 'o' / 'whole_body_images' / 'abc' / 'x.tif')
    with pytest.raises(ValueError, match=r'abc is not named by an integer'):
        OccludedREID(root, check_counts='off')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        OccludedREID(str(tmp_path / 'missing'))


def test_part_labels_drop_the_identity_folder(tmp_path):
    root = _build(tmp_path / 'o', ids=(7, ), per_id=1)
    for kind in ('occluded_body_images', 'whole_body_images'):
        _write(tmp_path / 'o' / 'masks' / 'bpbreid8' / kind / '007_01.png')
    ds = OccludedREID(root, part_labels=dict(scheme='bpbreid8'), check_counts='off')
    assert ds.get_data_info(0)['part_map_path'] == str(
        tmp_path / 'o' / 'masks' / 'bpbreid8' / 'occluded_body_images' / '007_01.png')
