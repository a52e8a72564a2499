"""make_partial_queries crops the queries' part label files with the queries' crops."""
import json
import os

import cv2
import numpy as np

from mmreidparts.datasets import MarketFormatDataset
from mmreidparts.datasets.partial_protocol import make_partial_queries, scale_box

QUERIES = ['0001_c1s1_000001_00.jpg', '0002_c2s1_000001_00.jpg']


def _rows(h: int, w: int, scale: int = 1) -> np.ndarray:
    """``[h, w]`` uint8 map whose every pixel holds its row index times ``scale``."""
    return np.repeat(np.arange(h, dtype=np.uint8)[:, None] * scale, w, axis=1)


def _market_with_labels(root, label_size=(10, 4), label_queries=QUERIES) -> None:
    """10x4 images; bpbreid8 label PNGs (one id per row) for the given queries + gallery."""
    for folder, names in dict(query=QUERIES, bounding_box_test=['0001_c3s1_000001_00.jpg'],
                              bounding_box_train=['0003_c1s1_000001_00.jpg']).items():
        os.makedirs(root / folder)
        for name in names:
            cv2.imwrite(str(root / folder / name), np.dstack([_rows(10, 4, 20)] * 3))
            if folder == 'query' and name not in label_queries:
                continue
            label_path = root / 'masks' / 'bpbreid8' / folder / (name[:-4] + '.png')
            label_path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(label_path), _rows(*label_size))


def _label(root, folder: str, name: str) -> np.ndarray:
    return cv2.imread(str(root / 'masks' / 'bpbreid8' / folder / (name[:-4] + '.png')),
                      cv2.IMREAD_UNCHANGED)


def test_query_labels_get_the_query_crop(tmp_path):
    src, dst = tmp_path / 'src', tmp_path / 'dst'
    _market_with_labels(src, label_queries=QUERIES[:1])
    crops = make_partial_queries(str(src), str(dst), ratio=0.5, side='top')
    assert crops[QUERIES[0]]['box'] == [0, 0, 4, 5]
    # rows 0..4 of the 10-row label map are kept, as for the image
    np.testing.assert_array_equal(_label(dst, 'query', QUERIES[0]), _rows(5, 4))
    # the second query has no label file in the source: none is written
    assert not (dst / 'masks' / 'bpbreid8' / 'query' / (QUERIES[1][:-4] + '.png')).exists()
    # the gallery and train label folders are reproduced like the image folders
    assert os.path.islink(dst / 'masks' / 'bpbreid8' / 'bounding_box_test')
    np.testing.assert_array_equal(_label(dst, 'bounding_box_train', '0003_c1s1_000001_00.jpg'),
                                  _rows(10, 4))
    manifest = json.loads((dst / 'partial_crops.json').read_text())
    assert manifest['part_labels'] == {'bpbreid8': 1}
    # the copy reads with its part labels: the cropped query's label file is found
    ds = MarketFormatDataset(str(dst), mode='query',
                             part_labels=dict(scheme='bpbreid8', optional=True))
    paths = [ds.get_data_info(i)['part_map_path'] for i in range(len(ds))]
    assert paths[0] == str(dst / 'masks' / 'bpbreid8' / 'query' / (QUERIES[0][:-4] + '.png'))
    assert paths[1] is None


def test_label_of_another_size_gets_the_scaled_crop(tmp_path):
    src, dst = tmp_path / 'src', tmp_path / 'dst'
    _market_with_labels(src, label_size=(20, 8))  # labels at twice the image size
    crops = make_partial_queries(str(src), str(dst), ratio=0.7, side='bottom', link='copy')
    # image box rows 3..9 of 10 -> label rows 6..19 of 20
    assert crops[QUERIES[1]]['box'] == [0, 3, 4, 10]
    label = _label(dst, 'query', QUERIES[1])
    assert label.shape == (14, 8)
    assert label[:, 0].tolist() == list(range(6, 20))
    assert not os.path.islink(dst / 'masks' / 'bpbreid8' / 'bounding_box_test')
    assert json.loads((dst / 'partial_crops.json').read_text())['part_labels'] == {
        'bpbreid8': 2}


def test_without_labels_nothing_is_written(tmp_path):
    src, dst = tmp_path / 'src', tmp_path / 'dst'
    _market_with_labels(src)
    os.rename(src / 'masks', src / 'other_labels')
    make_partial_queries(str(src), str(dst))
    assert not (dst / 'masks').exists()
    assert json.loads((dst / 'partial_crops.json').read_text())['part_labels'] == {}
    # a label folder of another name is found with label_dir
    make_partial_queries(str(src), str(tmp_path / 'o'), label_dir='other_labels')
    assert (tmp_path / 'o' / 'other_labels' / 'bpbreid8' / 'query').is_dir()


def test_scale_box():
    assert scale_box([0, 3, 4, 10], (10, 4), (20, 8)) == (0, 6, 8, 20)
    # 4 * 2 / 4 = 2, 5 * 3 / 10 + 0.5 = 2 -> rounded half up
    assert scale_box([0, 0, 4, 5], (10, 4), (3, 2)) == (0, 0, 2, 2)
    # a one-row box that rounds to nothing keeps one row
    assert scale_box([0, 0, 4, 1], (10, 4), (3, 2)) == (0, 0, 2, 1)
    assert scale_box([2, 9, 4, 10], (10, 4), (3, 2)) == (1, 2, 2, 3)
