"""Tests of LoadPifPafLabel (BPBreID's released PifPaf field files)."""
import os

import cv2
import numpy as np
import pytest

from mmreidparts.datasets.transforms.pifpaf_labels import LoadPifPafLabel, pifpaf_candidates
from mmreidparts.structures.pifpaf import PIFPAF_FIELD_ID


def _fields() -> np.ndarray:
    f = np.zeros((36, 2, 1), np.float32)   # half the image height, half its width
    f[PIFPAF_FIELD_ID['nose'], 0, 0] = 0.9
    f[PIFPAF_FIELD_ID['l_ankle'], 1, 0] = 0.7
    return f


def _setup(tmp_path, rel_img: str, rel_npy: str, fields=None) -> dict:
    img_path = tmp_path / rel_img
    img_path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(img_path), np.zeros((4, 2, 3), np.uint8))
    npy = tmp_path / rel_npy
    npy.parent.mkdir(parents=True, exist_ok=True)
    np.save(npy, _fields() if fields is None else fields)
    return dict(img_path=str(img_path), img_shape=(4, 2))


def test_label_mode_market_naming(tmp_path):
    results = _setup(tmp_path, 'market/bounding_box_train/0001_c1s1_000001_00.jpg',
                     'market/masks/pifpaf_maskrcnn_filtering/bounding_box_train/'
                     '0001_c1s1_000001_00.npy')
    out = LoadPifPafLabel(scheme='bpbreid8')(results)
    # Nearest resize 2x1 -> 4x2: rows 0-1 from the head, rows 2-3 from the left foot (7).
    np.testing.assert_array_equal(out['gt_seg_map'], [[1, 1], [1, 1], [7, 7], [7, 7]])
    assert out['gt_seg_map'].dtype == np.uint8
    assert out['part_scheme'] == 'bpbreid8'


def test_soft_mode_and_release_preset(tmp_path):
    results = _setup(tmp_path, 'd/query/0001_c1_f0001.jpg',
                     'd/masks/pifpaf_maskrcnn_filtering/query/0001_c1_f0001.jpg.npy')
    out = LoadPifPafLabel(scheme='five', mode='soft')(results)
    fields = out['gt_part_fields']
    assert fields.shape == (5, 4, 2) and fields.dtype == np.float32
    np.testing.assert_allclose(fields[0, :, 0], [0.9, 0.9, 0, 0])   # head
    np.testing.assert_allclose(fields[4, :, 1], [0, 0, 0.7, 0.7])   # feet
    assert out['part_scheme'] == 'bpbreid5'
    assert 'gt_seg_map' not in out


def test_occluded_duke_suffix_and_threshold(tmp_path):
    results = _setup(tmp_path, 'od/bounding_box_test/0005_c2_f0001.jpg',
                     'od/masks/pifpaf_maskrcnn_filtering/bounding_box_test/'
                     '0005_c2_f0001.jpg.confidence_fields.npy')
    out = LoadPifPafLabel(scheme='bpbreid8', threshold=0.8)(results)
    np.testing.assert_array_equal(out['gt_seg_map'][:, 0], [1, 1, 0, 0])


def test_occluded_reid_drops_the_identity_folder(tmp_path):
    results = _setup(tmp_path, 'or/occluded_body_images/001/001_01.tif',
                     'or/masks/pifpaf/occluded_body_images/001_01.tif.confidence_fields.npy')
    out = LoadPifPafLabel(scheme='bpbreid1', masks_dir='pifpaf',
                          interpolation='bilinear')(results)
    assert out['gt_seg_map'].shape == (4, 2)
    assert out['gt_seg_map'].max() == 1


def test_explicit_path_wins(tmp_path):
    results = _setup(tmp_path, 'x/a/0001_c1_1.jpg', 'elsewhere/f.npy')
    results['part_map_path'] = str(tmp_path / 'elsewhere/f.npy')
    out = LoadPifPafLabel(scheme='bpbreid8')(results)
    assert out['gt_seg_map'][0, 0] == 1


def test_wrong_shape_names_the_file(tmp_path):
    results = _setup(tmp_path, 'm/query/0001_c1_1.jpg',
                     'm/masks/pifpaf_maskrcnn_filtering/query/0001_c1_1.npy',
                     fields=np.zeros((2, 36, 4), np.float32))
    with pytest.raises(ValueError, match=r'0001_c1_1\.npy.*\[2, 36, 4\].*\[36, h, w\]'):
        LoadPifPafLabel()(results)


def test_missing_file(tmp_path):
    img = tmp_path / 'm' / 'query' / '0001_c1_1.jpg'
    os.makedirs(img.parent)
    cv2.imwrite(str(img), np.zeros((4, 2, 3), np.uint8))
    results = dict(img_path=str(img), img_shape=(4, 2))
    with pytest.raises(FileNotFoundError, match='0001_c1_1.jpg'):
        LoadPifPafLabel()(dict(results))
    out = LoadPifPafLabel(missing='ignore')(dict(results))
    assert (out['gt_seg_map'] == 255).all()


def test_candidates_order():
    paths = pifpaf_candidates('/r/ds/split/7/a.jpg', 'pp', suffixes=('.npy', ))
    assert paths[:4] == ['/r/ds/split/masks/pp/7/a.npy', '/r/ds/masks/pp/split/7/a.npy',
                         '/r/ds/masks/pp/split/a.npy', '/r/masks/pp/ds/split/7/a.npy']


def test_in_a_dataset_pipeline(tmp_path):
    from mmreidparts.datasets import OccludedREID
    root = tmp_path / 'Occluded_REID'
    for kind in ('occluded_body_images', 'whole_body_images'):
        _setup(tmp_path, f'Occluded_REID/{kind}/001/001_01.tif',
               f'Occluded_REID/masks/pifpaf_maskrcnn_filtering/{kind}/001_01.npy')
    pipeline = [dict(type='LoadReIDImage'), dict(type='LoadPifPafLabel', scheme='bpbreid8'),
                dict(type='VPMRandomCrop', grid=(2, 1), label_stride=1, prob=0.0),
                dict(type='PackReIDInputs')]
    ds = OccludedREID(str(root), pipeline=pipeline, check_counts='off')
    sample = ds[0]['data_samples']
    assert sample.gt_part_map.data[0, :, 0].tolist() == [1, 1, 7, 7]
    assert sample.gt_region_map.data[0, :, 0].tolist() == [0, 0, 1, 1]
    assert sample.metainfo['camid'] == 0 and sample.metainfo['pid'] == 1
