"""MARS: a tiny folder in the release layout, frames with tracklets, the query protocol."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import scipy.io

from mmreidparts.datasets import MARS
from mmreidparts.datasets.mars import read_mat_array

# (pid folder, camera, tracklet number, frames) of each tracklet, in index order
TRAIN = [('0001', 1, 1, 3), ('0001', 2, 1, 2), ('0003', 1, 1, 2)]
TEST = [('0002', 1, 1, 4), ('0002', 3, 1, 2), ('0004', 2, 1, 3), ('00-1', 1, 1, 2),
        ('0004', 1, 2, 2), ('0000', 2, 1, 1)]
QUERIES = [1, 3]  # 1-based rows of the test track table: 0002 camera 1, 0004 camera 2


def write_mars(root: str, info_in_root: bool = False) -> str:
    """The release layout: bbox_* folders, name lists, track and query index files."""
    info = root if info_in_root else osp.join(root, 'info')
    os.makedirs(info, exist_ok=True)
    img = np.zeros((8, 4, 3), np.uint8)
    for split, tracks in (('train', TRAIN), ('test', TEST)):
        names, rows = [], []
        for pid, cam, tracklet, frames in tracks:
            folder = osp.join(root, f'bbox_{split}', pid)
            os.makedirs(folder, exist_ok=True)
            start = len(names) + 1
            for f in range(1, frames + 1):
                name = f'{pid}C{cam}T{tracklet:04d}F{f:03d}.jpg'
                cv2.imwrite(osp.join(folder, name), img)
                names.append(name)
            rows.append([start, len(names), -1 if pid == '00-1' else int(pid), cam])
        with open(osp.join(info, f'{split}_name.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
        key = f'track_{split}_info'
        scipy.io.savemat(osp.join(info, f'tracks_{split}_info.mat'),
                         {key: np.asarray(rows, dtype=np.float64)})
    scipy.io.savemat(osp.join(info, 'query_IDX.mat'),
                     {'query_IDX': np.asarray([QUERIES], dtype=np.float64)})
    return root


@pytest.fixture()
def mars_root(tmp_path):
    return write_mars(str(tmp_path / 'mars'))


def _records(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def test_train_frames_carry_their_tracklet_and_relabelled_identity(mars_root):
    ds = MARS(mars_root, mode='train', check_counts='off')
    recs = _records(ds)
    assert len(recs) == 7 and ds.metainfo['num_classes'] == 2
    assert [r['tracklet_id'] for r in recs] == [0, 0, 0, 1, 1, 2, 2]
    assert [r['gt_label'] for r in recs] == [0, 0, 0, 0, 0, 1, 1]
    assert [r['camid'] for r in recs[:5]] == [0, 0, 0, 1, 1]
    assert recs[0]['img_path'].endswith(osp.join('bbox_train', '0001', '0001C1T0001F001.jpg'))
    assert not any(r['is_query'] for r in recs)


def test_test_mode_flags_queries_drops_junk_and_keeps_queries_in_the_gallery(mars_root):
    ds = MARS(mars_root, mode='test', check_counts='off')
    recs = _records(ds)
    assert {r['tracklet_id'] for r in recs} == {0, 1, 2, 4, 5}  # row 3 is junk (00-1)
    assert len(recs) == 4 + 2 + 3 + 2 + 1
    queries = {r['tracklet_id'] for r in recs if r['is_query']}
    assert queries == {0, 2}
    assert all(r['in_gallery'] for r in recs)  # MARS's code: every tracklet in the gallery
    assert ds.tracklet_counts() == dict(tracklets=5, queries=2, gallery=5)
    assert [r['pid'] for r in recs if r['tracklet_id'] == 5] == [0]  # a distractor
    apart = MARS(mars_root, mode='test', query_in_gallery=False, check_counts='off')
    assert apart.tracklet_counts() == dict(tracklets=5, queries=2, gallery=3)
    query = MARS(mars_root, mode='query', check_counts='off')
    assert query.tracklet_counts() == dict(tracklets=2, queries=2, gallery=0)
    gallery = MARS(mars_root, mode='gallery', check_counts='off')
    assert gallery.tracklet_counts() == dict(tracklets=5, queries=0, gallery=5)


def test_frames_per_tracklet_keeps_evenly_spaced_frames(mars_root):
    ds = MARS(mars_root, mode='test', frames_per_tracklet=2, check_counts='off')
    first = [osp.basename(r['img_path']) for r in _records(ds) if r['tracklet_id'] == 0]
    assert first == ['0002C1T0001F001.jpg', '0002C1T0001F004.jpg']
    assert len(_records(ds)) == 2 + 2 + 2 + 2 + 1


def test_info_files_in_the_root_and_matlab_v73_files(tmp_path):
    root = write_mars(str(tmp_path / 'mars'), info_in_root=True)
    assert len(MARS(root, mode='train', check_counts='off')) == 7
    # a MATLAB v7.3 (HDF5) query index, as MATLAB saves it (column-major: transposed)
    import h5py
    path = osp.join(root, 'query_IDX.mat')
    with h5py.File(path, 'w', userblock_size=512) as f:
        f['query_IDX'] = np.asarray([[1.0], [3.0]])  # shape [2, 1] here = [1, 2] in MATLAB
    header = b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 2024 HDF5 schema'
    with open(path, 'r+b') as f:
        f.write(header.ljust(116) + b'\0' * 8 + b'\x00\x02' + b'IM')
    assert read_mat_array(path, 'query_IDX').shape == (1, 2)
    assert MARS(root, mode='test', check_counts='off').tracklet_counts()['queries'] == 2


def test_bad_layouts_are_named(mars_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='bbox_train'):
        MARS(str(tmp_path / 'nothing'), mode='train')
    os.remove(osp.join(mars_root, 'info', 'query_IDX.mat'))
    with pytest.raises(FileNotFoundError, match='query_IDX.mat'):
        MARS(mars_root, mode='test', check_counts='off')
    # a name list out of order: the first frame of tracklet 2 is another camera's
    names = osp.join(mars_root, 'info', 'train_name.txt')
    lines = open(names).read().split()
    lines[2], lines[3] = lines[3], lines[2]
    open(names, 'w').write('\n'.join(lines))
    with pytest.raises(ValueError, match='tracklet 2 of train .* starts with the image '
                                         '0001C1T0001F003.jpg'):
        MARS(mars_root, mode='train', check_counts='off')
