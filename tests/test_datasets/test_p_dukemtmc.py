"""Tests of the P-DukeMTMC-reID dataset."""
import cv2
import numpy as np
import pytest

from mmreidparts.datasets.p_dukemtmc import PDukeMTMC


def _write(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((8, 4, 3), np.uint8))


def _build(root):
    layout = {('train', 'occluded_body_images'): {5: 2, 9: 1},
              ('train', 'whole_body_images'): {5: 1, 9: 3},
              ('test', 'occluded_body_images'): {12: 1, 13: 1},
              ('test', 'whole_body_images'): {12: 2, 13: 2}}
    for (part, kind), ids in layout.items():
        for pid, n in ids.items():
            for i in range(n):
                _write(root / part / kind / f'{pid:04d}' / f'{pid:04d}_c{i + 1}_f{i:07d}.jpg')
    return str(root)


def test_train_reads_both_kinds(tmp_path):
    ds = PDukeMTMC(_build(tmp_path / 'P-DukeMTMC-reID'), mode='train', check_counts='off')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert len(infos) == 7
    occluded = [d for d in infos if 'occluded_body_images' in d['img_path']]
    assert {d['camid'] for d in occluded} == {0} and len(occluded) == 3
    assert {d['camid'] for d in infos if d not in occluded} == {1}
    assert sorted({(d['pid'], d['gt_label']) for d in infos}) == [(5, 0), (9, 1)]


def test_test_mode(tmp_path):
    ds = PDukeMTMC(_build(tmp_path / 'p'), mode='test', check_counts='off')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    query = [d for d in infos if d['is_query']]
    gallery = [d for d in infos if not d['is_query']]
    assert len(query) == 2 and len(gallery) == 4
    assert {d['camid'] for d in query} == {0} and {d['camid'] for d in gallery} == {1}
    assert PDukeMTMC.EVAL_PROTOCOL == 'all'


def test_counts_and_part_label_path(tmp_path):
    root = _build(tmp_path / 'p')
    with pytest.raises(ValueError, match='expected 2163 images of 634'):
        PDukeMTMC(root, mode='query', check_counts='error')
    ds = PDukeMTMC(root, mode='query', check_counts='off',
                   part_labels=dict(scheme='bpbreid8', optional=True))
    rec = ds.get_data_info(0)
    assert rec['part_map_path'] is None
    assert ds.part_label_path(rec, 'query') == str(
        tmp_path / 'p' / 'masks' / 'bpbreid8' / 'test' / 'occluded_body_images' /
        '0012_c1_f0000000.png')
