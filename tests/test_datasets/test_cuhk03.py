"""Tests of CUHK03: the new protocol folders and the classic splits of cuhk-03.mat."""
import cv2
import h5py
import numpy as np
import pytest

from mmreidparts.datasets.cuhk03 import CUHK03NP, CUHK03Classic
from mmreidparts.registry import DATASETS


def _write(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((8, 4, 3), np.uint8))


def test_np_detected_and_labeled(tmp_path):
    root = tmp_path / 'cuhk03-np'
    for subset, n in (('detected', 2), ('labeled', 3)):
        for i in range(n):
            _write(root / subset / 'bounding_box_train' / f'{i + 1:04d}_c{i % 2 + 1}_{i}.png')
        _write(root / subset / 'query' / '0100_c1_1.png')
        _write(root / subset / 'bounding_box_test' / '0100_c2_1.png')
    det = DATASETS.build(dict(type='CUHK03NP', data_root=str(root), check_counts='off'))
    lab = CUHK03NP(str(root), subset='labeled', check_counts='off')
    assert len(det) == 2 and len(lab) == 3
    assert [det.get_data_info(i)['camid'] for i in range(2)] == [0, 1]
    assert '/detected/bounding_box_train/' in det.get_data_info(0)['img_path']
    test = CUHK03NP(str(root), subset='labeled', mode='test', check_counts='off')
    assert [(test.get_data_info(i)['pid'], test.get_data_info(i)['camid']) for i in
            range(2)] == [(100, 0), (100, 1)]
    with pytest.raises(ValueError, match='expected 7368 images of 767'):
        CUHK03NP(str(root), subset='labeled', check_counts='error')
    with pytest.raises(ValueError, match='expected 7365 images of 767'):
        CUHK03NP(str(root), check_counts='error')
    with pytest.raises(ValueError, match='subset'):
        CUHK03NP(str(root), subset='both')
    assert CUHK03NP.EVAL_PROTOCOL == 'market'


def _image(pair: int, person: int) -> np.ndarray:
    """A 3 x 2 RGB image stored MATLAB-style as [3, W, H]."""
    img = np.zeros((3, 2, 3), np.uint8)   # [H, W, 3]
    img[..., 0] = 10 * pair + person       # red
    img[..., 2] = 7                        # blue
    return np.ascontiguousarray(img.T)     # [3, W, H]


def _mat(path, persons=(3, 2), testsets=(((1, 2), (2, 1)), ((1, 1), (1, 3)))) -> str:
    """A tiny cuhk-03.mat (HDF5) with the release's structure."""
    with h5py.File(path, 'w') as f:
        counter = [0]

        def store(arr):
            name = f'#refs#/r{counter[0]}'
            counter[0] += 1
            f.create_dataset(name, data=arr)
            return f[name].ref

        for subset in ('detected', 'labeled'):
            pair_refs = []
            for pair, n in enumerate(persons, start=1):
                cells = np.empty((10, n), dtype=h5py.ref_dtype)   # MATLAB [n, 10] cell
                for p in range(n):
                    for i in range(10):
                        empty = p == 0 and i in (4, 9)
                        cells[i, p] = store(np.zeros(2, np.uint64) if empty
                                            else _image(pair, p + 1))
                pair_refs.append(store(cells))
            f.create_dataset(subset, data=np.array([pair_refs], dtype=h5py.ref_dtype))
        refs = [store(np.array(t, np.float64).T) for t in testsets]   # [2, num_test]
        f.create_dataset('testsets', data=np.array([refs], dtype=h5py.ref_dtype))
    return str(path)


def test_classic_split(tmp_path):
    root = tmp_path / 'cuhk03'
    (root / 'cuhk03_release').mkdir(parents=True)
    _mat(root / 'cuhk03_release' / 'cuhk-03.mat')
    kw = dict(camera_pairs=(1, 2), check_counts='off')
    train = CUHK03Classic(str(root), mode='train', **kw)
    query = CUHK03Classic(str(root), mode='query', **kw)
    gallery = CUHK03Classic(str(root), mode='gallery', **kw)
    # Pair 1 has persons 0..2 (pids 0-2), pair 2 persons 3-4; test set 0 = pids 1 and 3.
    assert sorted(set(train.get_pids())) == [0, 2, 4]
    assert sorted(set(query.get_pids())) == [1, 3] == sorted(set(gallery.get_pids()))
    # Person 1 of each pair misses its 5th and 10th image: 4 + 4 images.
    assert len(train) == 8 + 10 + 10 and len(query) == 5 + 4 and len(gallery) == 5 + 4
    assert {query.get_data_info(i)['camid'] for i in range(len(query))} == {0, 2}
    assert {gallery.get_data_info(i)['camid'] for i in range(len(gallery))} == {1, 3}
    assert sorted(set(train.get_data_info(i)['gt_label'] for i in range(len(train)))) == \
        [0, 1, 2]
    img = cv2.imread(query.get_data_info(0)['img_path'])
    assert img.shape == (3, 2, 3)
    assert (img[..., 2] == 12).all() and (img[..., 0] == 7).all()   # BGR on disk
    assert CUHK03Classic.EVAL_PROTOCOL == 'cuhk03_classic'

    second = CUHK03Classic(str(root), mode='query', split_index=1, camera_pairs=(1, ),
                           check_counts='off')
    assert sorted(set(second.get_pids())) == [0, 2]
    with pytest.raises(ValueError, match='outside camera_pairs'):
        CUHK03Classic(str(root), mode='query', camera_pairs=(1, ), check_counts='off')
    with pytest.raises(ValueError, match='identities, expected'):
        CUHK03Classic(str(root), mode='query', camera_pairs=(1, 2), check_counts='error')
    with pytest.raises(ValueError, match='holds 2 test sets'):
        CUHK03Classic(str(root), split_index=5, **kw)


def test_classic_extract_dir_and_missing_mat(tmp_path):
    root = tmp_path / 'c'
    root.mkdir()
    _mat(root / 'cuhk-03.mat')
    ds = CUHK03Classic(str(root), subset='labeled', mode='gallery', camera_pairs=(1, 2),
                       extract_dir=str(tmp_path / 'out'), check_counts='off')
    assert ds.get_data_info(0)['img_path'].startswith(
        str(tmp_path / 'out' / 'cuhk03_classic_images' / 'labeled'))
    with pytest.raises(FileNotFoundError, match='cuhk-03.mat not found'):
        CUHK03Classic(str(tmp_path / 'out'))
