"""Tests of the Partial-REID and Partial-iLIDS test sets."""
import cv2
import numpy as np
import pytest

from mmreidparts.datasets.partial_reid import PartialiLIDS, PartialREID
from mmreidparts.registry import DATASETS


def _write(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((8, 4, 3), np.uint8))


def test_partial_reid(tmp_path):
    root = tmp_path / 'Partial_REID'
    for kind in ('partial_body_images', 'whole_body_images'):
        for pid in (1, 2):
            for n in (1, 2, 3):
                _write(root / kind / f'{pid:03d}_{n:02d}.jpg')
    ds = DATASETS.build(dict(type='PartialREID', data_root=str(root), check_counts='off'))
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert len(infos) == 12
    assert [(d['pid'], d['camid'], d['is_query']) for d in infos[:3]] == [(1, 0, True)] * 3
    assert {(d['camid'], d['is_query']) for d in infos[6:]} == {(1, False)}
    assert PartialREID.EVAL_PROTOCOL == 'all'
    with pytest.raises(ValueError, match='expected 300 images of 60'):
        PartialREID(str(root), check_counts='error')


def test_partial_ilids(tmp_path):
    root = tmp_path / 'Partial_iLIDS'
    for kind in ('partial_body_images', 'whole_body_images'):
        for pid in (3, 17):
            _write(root / kind / f'{pid:03d}.jpg')
    ds = PartialiLIDS(str(root), mode='gallery', check_counts='off')
    assert [ds.get_data_info(i)['pid'] for i in range(2)] == [3, 17]
    assert {ds.get_data_info(i)['camid'] for i in range(2)} == {1}


def test_test_only_and_bad_names(tmp_path):
    with pytest.raises(ValueError, match='test-only'):
        PartialREID(str(tmp_path), mode='train')
    root = tmp_path / 'bad'
    _write(root / 'partial_body_images' / 'person1.jpg')
    _write(root / 'whole_body_images' / '001.jpg')
    with pytest.raises(ValueError, match=r"person1.jpg.*<pid>.jpg"):
        PartialiLIDS(str(root), check_counts='off')
