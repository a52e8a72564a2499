"""Tests of VPM's synthetic partial protocol (cropped queries, holistic gallery)."""
import json
import os

import cv2
import numpy as np
import pytest

from mmreidparts.datasets.partial_protocol import load_partial_crops, make_partial_queries


def _market(root) -> None:
    for folder, names in dict(query=['0001_c1s1_000001_00.jpg', '0002_c2s1_000001_00.jpg'],
                              bounding_box_test=['0001_c3s1_000001_00.jpg'],
                              bounding_box_train=['0003_c1s1_000001_00.jpg']).items():
        os.makedirs(root / folder)
        for name in names:
            img = np.repeat(np.arange(10, dtype=np.uint8)[:, None, None] * 20, 4, axis=1)
            cv2.imwrite(str(root / folder / name), np.repeat(img, 3, axis=2))


def test_top_half_queries(tmp_path):
    src, dst = tmp_path / 'src', tmp_path / 'dst'
    _market(src)
    crops = make_partial_queries(str(src), str(dst), ratio=0.5, side='top')
    assert sorted(crops) == ['0001_c1s1_000001_00.jpg', '0002_c2s1_000001_00.jpg']
    assert crops['0001_c1s1_000001_00.jpg'] == dict(box=[0, 0, 4, 5], side='top', ratio=0.5,
                                                    size=[10, 4])
    img = cv2.imread(str(dst / 'query' / '0001_c1s1_000001_00.jpg'))
    assert img.shape == (5, 4, 3)
    # The upper five rows (values 0..80) are kept (JPEG tolerance).
    assert abs(int(img[4, 0, 0]) - 80) < 12
    assert os.path.islink(dst / 'bounding_box_test')
    assert os.listdir(dst / 'bounding_box_train') == ['0003_c1s1_000001_00.jpg']
    manifest = json.loads((dst / 'partial_crops.json').read_text())
    assert manifest['ratio'] == 0.5 and manifest['side'] == 'top'
    assert load_partial_crops(str(dst)) == crops


def test_random_sides_and_ratios_are_deterministic(tmp_path):
    src = tmp_path / 'src'
    _market(src)
    a = make_partial_queries(str(src), str(tmp_path / 'a'), ratio=(0.5, 0.9), side='any',
                             seed=3, link='copy')
    b = make_partial_queries(str(src), str(tmp_path / 'b'), ratio=(0.5, 0.9), side='any',
                             seed=3, link='copy')
    assert a == b
    assert all(0.5 <= c['ratio'] <= 0.9 for c in a.values())
    assert not os.path.islink(tmp_path / 'a' / 'bounding_box_test')
    c = make_partial_queries(str(src), str(tmp_path / 'c'), ratio=(0.5, 0.9), side='any',
                             seed=4)
    assert [v['ratio'] for v in c.values()] != [v['ratio'] for v in a.values()]


def test_bottom_crop_box(tmp_path):
    src = tmp_path / 'src'
    _market(src)
    crops = make_partial_queries(str(src), str(tmp_path / 'o'), ratio=0.7, side='bottom')
    assert crops['0002_c2s1_000001_00.jpg']['box'] == [0, 3, 4, 10]


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='query folder'):
        make_partial_queries(str(tmp_path / 'none'), str(tmp_path / 'o'))
    src = tmp_path / 'src'
    _market(src)
    make_partial_queries(str(src), str(tmp_path / 'o'))
    with pytest.raises(FileExistsError, match='exists'):
        make_partial_queries(str(src), str(tmp_path / 'o'))
    make_partial_queries(str(src), str(tmp_path / 'o'), overwrite=True)
    with pytest.raises(ValueError, match='ratio'):
        make_partial_queries(str(src), str(tmp_path / 'p'), ratio=1.2)


def test_cli(tmp_path):
    import importlib.util
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'tools', 'dataset_converters',
                        'make_partial_queries.py')
    spec = importlib.util.spec_from_file_location('make_partial_queries', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    src = tmp_path / 'src'
    _market(src)
    mod.main([str(src), str(tmp_path / 'cli'), '--ratio', '0.6', '--side', 'top'])
    assert load_partial_crops(str(tmp_path / 'cli'))['0001_c1s1_000001_00.jpg']['box'] == \
        [0, 0, 4, 6]
