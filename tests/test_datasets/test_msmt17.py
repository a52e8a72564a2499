"""Tests of MSMT17 V1 / V2 (official list files)."""
import cv2
import numpy as np
import pytest

from mmreidparts.datasets.msmt17 import MSMT17


def _build(root, train_dir='train', test_dir='test'):
    lists = dict(
        list_train=[(train_dir, '0000/0000_000_01_0303morning_0015_0.jpg', 0),
                    (train_dir, '0001/0001_001_15_0303noon_0001_1.jpg', 1)],
        list_val=[(train_dir, '0001/0001_002_03_0303noon_0002_0.jpg', 1)],
        list_query=[(test_dir, '0000/0000_000_02_0303afternoon_0001_0.jpg', 0)],
        list_gallery=[(test_dir, '0000/0000_001_05_0303afternoon_0002_0.jpg', 0),
                      (test_dir, '0002/0002_000_05_0303afternoon_0003_0.jpg', 2)])
    for name, rows in lists.items():
        lines = []
        for folder, rel, pid in rows:
            path = root / folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), np.zeros((8, 4, 3), np.uint8))
            lines.append(f'{rel} {pid}\n')
        (root / f'{name}.txt').write_text(''.join(lines))
    return str(root)


def test_v1_train_val_combined(tmp_path):
    ds = MSMT17(_build(tmp_path / 'MSMT17_V1'), check_counts='off')
    assert ds.version == 'V1' and len(ds) == 3
    infos = [ds.get_data_info(i) for i in range(3)]
    assert [(d['pid'], d['camid'], d['gt_label']) for d in infos] == [(0, 0, 0), (1, 14, 1),
                                                                      (1, 2, 1)]
    only_train = MSMT17(str(tmp_path / 'MSMT17_V1'), combine_train_val=False,
                        check_counts='off')
    assert len(only_train) == 2
    assert MSMT17.EVAL_PROTOCOL == 'market'


def test_v2_detected_and_test_mode(tmp_path):
    root = _build(tmp_path / 'MSMT17_V2', 'mask_train_v2', 'mask_test_v2')
    ds = MSMT17(root, mode='test', check_counts='off')
    assert ds.version == 'V2'
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [(d['pid'], d['camid'], d['is_query']) for d in infos] == [
        (0, 1, True), (0, 4, False), (2, 4, False)]
    assert infos[0]['img_path'].startswith(root + '/mask_test_v2/0000/')


def test_counts_and_errors(tmp_path):
    root = _build(tmp_path / 'm')
    with pytest.raises(ValueError, match='expected 11659 images of 3060'):
        MSMT17(root, mode='query', check_counts='error')
    (tmp_path / 'm' / 'list_gallery.txt').write_text('0000/missing_000_01_x_1_0.jpg 0\n')
    with pytest.raises(FileNotFoundError, match='1 images listed for the gallery'):
        MSMT17(root, mode='gallery', check_counts='off')
    (tmp_path / 'm' / 'list_query.txt').write_text('only_a_path.jpg\n')
    with pytest.raises(ValueError, match=r'list_query.txt:1'):
        MSMT17(root, mode='query', check_counts='off')
    (tmp_path / 'm' / 'list_val.txt').unlink()
    with pytest.raises(FileNotFoundError, match='list_val.txt'):
        MSMT17(root, check_counts='off')
