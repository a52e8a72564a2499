"""Tests of CUHK01 (PPPPCCC.png names, seeded identity split)."""
import cv2
import numpy as np
import pytest

from mmreidparts.datasets.cuhk01 import CUHK01


def _build(root, num_ids=6):
    (root / 'campus').mkdir(parents=True)
    for pid in range(1, num_ids + 1):
        for img in range(1, 5):
            cv2.imwrite(str(root / 'campus' / f'{pid:04d}{img:03d}.png'),
                        np.zeros((8, 4, 3), np.uint8))
    return str(root)


def test_split_by_identity_and_camera(tmp_path):
    root = _build(tmp_path / 'cuhk01')
    kw = dict(num_test_ids=2, split_seed=0, check_counts='off')
    train = CUHK01(root, mode='train', **kw)
    query = CUHK01(root, mode='query', **kw)
    gallery = CUHK01(root, mode='gallery', **kw)
    assert len(train) == 16 and len(query) == 4 and len(gallery) == 4
    test_ids = set(query.get_pids())
    assert test_ids == set(gallery.get_pids()) and len(test_ids) == 2
    assert not test_ids & set(train.get_pids())
    # 0001001.png and 0001002.png are camera A, 0001003.png and 0001004.png camera B.
    assert {query.get_data_info(i)['camid'] for i in range(4)} == {0}
    assert {gallery.get_data_info(i)['img_path'][-7:-4] for i in range(4)} == {'003', '004'}
    assert CUHK01.EVAL_PROTOCOL == 'cuhk03_classic'
    other = CUHK01(root, mode='query', num_test_ids=2, split_seed=5, check_counts='off')
    seeds = {frozenset(CUHK01(root, mode='query', num_test_ids=2, split_seed=s,
                              check_counts='off').get_pids()) for s in range(6)}
    assert len(seeds) > 1 and set(other.get_pids()) in seeds


def test_expected_counts(tmp_path):
    root = _build(tmp_path / 'c')
    with pytest.raises(ValueError, match='expected 3876 images of 969'):
        CUHK01(root, mode='train', check_counts='error', num_test_ids=2)
    with pytest.raises(ValueError, match='not enough for 486 test identities'):
        CUHK01(root, mode='train', check_counts='off')
    assert CUHK01(root, mode='query', num_test_ids=2, check_counts='off').EXPECTED_COUNTS == \
        dict(train=(3876, 969), query=(4, 2), gallery=(4, 2))


def test_bad_names(tmp_path):
    root = _build(tmp_path / 'c')
    cv2.imwrite(str(tmp_path / 'c' / 'campus' / '0001005.png'), np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match=r'image number 5 in .0001005.png'):
        CUHK01(root, check_counts='off')
    with pytest.raises(FileNotFoundError, match='campus'):
        CUHK01(str(tmp_path))
