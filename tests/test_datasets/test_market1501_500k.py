"""Tests of Market-1501 with the 500k gallery distractors."""
import cv2
import numpy as np
import pytest

from mmreidparts.datasets.market1501_500k import Market1501Distractors


def _write(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((8, 4, 3), np.uint8))


def _build(root, num_distractors=5):
    _write(root / 'bounding_box_train' / '0002_c1s1_000451_03.jpg')
    _write(root / 'query' / '0002_c2s1_000301_01.jpg')
    _write(root / 'bounding_box_test' / '0002_c3s1_000101_01.jpg')
    _write(root / 'bounding_box_test' / '0000_c1s1_000001_01.jpg')
    _write(root / 'bounding_box_test' / '-1_c1s1_000001_02.jpg')       # junk, dropped
    for i in range(num_distractors):
        _write(root / 'bounding_box_test_500k' / f'{i // 3:02d}' / f'{i:08d}.jpg')
    return str(root)


def test_gallery_gets_all_distractors(tmp_path):
    ds = Market1501Distractors(_build(tmp_path / 'm'), mode='gallery', check_counts='off')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert len(infos) == 2 + 5
    distractors = [d for d in infos if 'bounding_box_test_500k' in d['img_path']]
    assert len(distractors) == 5
    assert {(d['pid'], d['camid']) for d in distractors} == {(0, 6)}
    query = Market1501Distractors(str(tmp_path / 'm'), mode='query', check_counts='off')
    assert len(query) == 1
    assert Market1501Distractors.EVAL_PROTOCOL == 'market'


def test_seeded_subset_and_counts(tmp_path):
    root = _build(tmp_path / 'm')
    a = Market1501Distractors(root, mode='gallery', num_distractors=3, seed=1,
                              check_counts='off')
    b = Market1501Distractors(root, mode='gallery', num_distractors=3, seed=1,
                              check_counts='off')
    assert len(a) == 5 and a.list_distractors() == b.list_distractors()
    assert a.EXPECTED_COUNTS['gallery'] == (15913 + 3, 751)
    assert Market1501Distractors(root, mode='gallery', num_distractors=0,
                                 check_counts='off').EXPECTED_COUNTS['gallery'] == (15913, 751)
    with pytest.raises(ValueError, match='expected 515913 images of 751'):
        Market1501Distractors(root, mode='gallery', check_counts='error')
    with pytest.raises(ValueError, match='6 distractors asked for'):
        Market1501Distractors(root, mode='gallery', num_distractors=6, check_counts='off')


def test_missing_distractor_folder(tmp_path):
    root = _build(tmp_path / 'm', num_distractors=0)
    with pytest.raises(FileNotFoundError, match='bounding_box_test_500k'):
        Market1501Distractors(root, mode='gallery', check_counts='off')
    assert len(Market1501Distractors(root, mode='gallery', num_distractors=0,
                                     check_counts='off')) == 2
