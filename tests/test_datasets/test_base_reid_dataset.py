"""Tests of BaseReIDDataset and the named Market-layout datasets."""
import os
import os.path as osp
import warnings

import numpy as np
import pytest
import torch

from mmreidparts.datasets import (
    BaseReIDDataset,
    DukeMTMCreID,
    Market1501,
    MarketFormatDataset,
    OccludedDuke,
    SyntheticPedestrians,
)
from mmreidparts.registry import DATASETS
from mmreidparts.structures import ReIDDataSample

SHARED_MINI_MARKET = osp.join(osp.dirname(__file__), '..', '..', '..', 'shared', 'data',
                              'mini_market1501')


def test_train_records_parse_and_relabel(market_factory):
    root = market_factory()
    ds = MarketFormatDataset(root, mode='train')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    # Thumbs.db is skipped, files are sorted by name.
    assert [osp.basename(r['img_path']) for r in infos] == [
        '0002_c1s1_000451_03.jpg', '0002_c2s1_000551_01.jpg', '0007_c3s1_000100_01.jpg',
        '0010_c6s2_000200_02.jpg'
    ]
    assert [r['pid'] for r in infos] == [2, 2, 7, 10]
    assert [r['camid'] for r in infos] == [0, 1, 2, 5]  # camera C -> C - 1
    assert [r['gt_label'] for r in infos] == [0, 0, 1, 2]  # sorted pids 2, 7, 10
    assert ds.pid2label == {2: 0, 7: 1, 10: 2}
    assert not any(r['is_query'] for r in infos)
    assert all(r['part_map_path'] is None and r['part_scheme'] is None for r in infos)
    assert osp.isabs(infos[0]['img_path'])
    assert ds.metainfo['num_classes'] == 3
    assert ds.metainfo['dataset_name'] == 'market_format'
    assert ds.metainfo['part_scheme'] is None and ds.metainfo['part_names'] == ()
    assert ds.test_mode is False
    assert ds.get_pids() == [2, 2, 7, 10]


def test_gallery_drops_junk_keeps_distractor(market_factory):
    ds = MarketFormatDataset(market_factory(), mode='gallery')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert sorted((r['pid'], r['camid']) for r in infos) == [(0, 0), (2, 2), (7, 3)]
    assert all(r['gt_label'] == -1 and r['is_query'] is False for r in infos)
    assert ds.test_mode is True


def test_test_mode_is_query_then_gallery(market_factory):
    ds = MarketFormatDataset(market_factory(), mode='test')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [r['is_query'] for r in infos] == [True, True, False, False, False]
    assert [r['pid'] for r in infos] == [2, 7, 0, 2, 7]
    assert ds.metainfo['num_classes'] == 3  # distinct pids 0, 2, 7


def test_relabel_outside_train(market_factory):
    ds = MarketFormatDataset(market_factory(), mode='gallery', relabel=True)
    labels = {ds.get_data_info(i)['pid']: ds.get_data_info(i)['gt_label'] for i in range(3)}
    assert labels == {0: 0, 2: 1, 7: 2}
    ds = MarketFormatDataset(market_factory(), mode='train', relabel=False)
    assert {ds.get_data_info(i)['gt_label'] for i in range(len(ds))} == {-1}


def test_count_check_warn_error_off(market_factory):
    root = market_factory()
    with pytest.warns(UserWarning) as rec:
        Market1501(root, mode='train')
    msg = str(rec[0].message)
    assert osp.join(root, 'bounding_box_train') in msg
    assert '4 images of 3 identities' in msg and '12936 images of 751 identities' in msg
    with pytest.raises(ValueError, match='3368 images of 750 identities') as err:
        Market1501(root, mode='query', check_counts='error')
    assert osp.join(root, 'query') in str(err.value)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        Market1501(root, mode='test', check_counts='off')
        MarketFormatDataset(root, mode='test')  # no expected counts

    class Tiny(BaseReIDDataset):
        EXPECTED_COUNTS = dict(train=(4, 3), query=(2, 2), gallery=(3, 3))

    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert len(Tiny(root, mode='test', check_counts='error')) == 5


def test_missing_data_root(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='does not exist') as err:
        MarketFormatDataset(missing)
    assert missing in str(err.value) and 'bounding_box_train/' in str(err.value)


def test_missing_split_folder_lists_layout(market_factory):
    root = market_factory(files={'bounding_box_train': ['0001_c1s1_000001_01.jpg']})
    with pytest.raises(FileNotFoundError) as err:
        MarketFormatDataset(root, mode='gallery')
    msg = str(err.value)
    assert osp.join(root, 'bounding_box_test') in msg
    assert 'expected layout' in msg and 'query/' in msg and 'bounding_box_train/' in msg


def test_mode_without_split_folder(market_factory):

    class QueryGalleryOnly(BaseReIDDataset):
        SPLIT_DIRS = dict(query='query', gallery='bounding_box_test')

    with pytest.raises(ValueError, match="no 'train' split folder.*'gallery', 'query'"):
        QueryGalleryOnly(market_factory(), mode='train')
    assert len(QueryGalleryOnly(market_factory(), mode='test')) == 5


def test_empty_split(market_factory):
    root = market_factory(files={'query': ['Thumbs.db', '-1_c1s1_000001_01.jpg']})
    with pytest.raises(ValueError, match='no images') as err:
        MarketFormatDataset(root, mode='query')
    assert osp.join(root, 'query') in str(err.value)


def test_bad_file_name(market_factory):
    root = market_factory(files={'query': ['person7_cam1.jpg']})
    with pytest.raises(ValueError, match='person7_cam1.jpg') as err:
        MarketFormatDataset(root, mode='query')
    assert '<pid>_c<camera>' in str(err.value)
    # Market-1501 is stricter than the generic format: a Duke name is rejected.
    root = market_factory(files={'query': ['0001_c2_f0046182.jpg']})
    with pytest.raises(ValueError, match='PPPP_cCsS_FFFFFF_BB'):
        Market1501(root, mode='query', check_counts='off')


def test_duke_names(market_factory):
    files = {'query': ['0001_c2_f0046182.jpg', '0005_c8_f0000001.jpg']}
    for cls in (DukeMTMCreID, OccludedDuke):
        ds = cls(market_factory(files=files), mode='query', check_counts='off')
        assert [(ds[i]['pid'], ds[i]['camid']) for i in range(2)] == [(1, 1), (5, 7)]
    with pytest.raises(ValueError, match='0002_c1s1_000451_03.jpg'):
        DukeMTMCreID(market_factory(files={'query': ['0002_c1s1_000451_03.jpg']}),
                     mode='query')


def test_named_dataset_constants():
    assert Market1501.EXPECTED_COUNTS == dict(
        train=(12936, 751), query=(3368, 750), gallery=(15913, 751))
    assert DukeMTMCreID.EXPECTED_COUNTS == dict(
        train=(16522, 702), query=(2228, 702), gallery=(17661, 1110))
    assert OccludedDuke.EXPECTED_COUNTS == dict(
        train=(15618, 702), query=(2210, 519), gallery=(17661, 1110))
    assert MarketFormatDataset.EXPECTED_COUNTS is None
    assert SyntheticPedestrians.EXPECTED_COUNTS is None
    assert SyntheticPedestrians.DATASET_NAME == 'synthetic'
    for name in ('Market1501', 'DukeMTMCreID', 'OccludedDuke', 'MarketFormatDataset',
                 'SyntheticPedestrians', 'BaseReIDDataset'):
        assert DATASETS.get(name) is not None


def test_part_label_paths(market_factory):
    root = market_factory(label_scheme='bpbreid8')
    ds = MarketFormatDataset(root, mode='query', part_labels=dict(scheme='bpbreid8'))
    info = ds.get_data_info(0)
    assert info['part_map_path'] == osp.join(root, 'masks', 'bpbreid8', 'query',
                                             '0002_c1s1_001000_01.png')
    assert info['part_scheme'] == 'bpbreid8' and info['part_source_scheme'] is None
    assert ds.metainfo['part_scheme'] == 'bpbreid8'
    assert ds.metainfo['part_names'] == ('head', 'l_arm', 'r_arm', 'torso', 'l_leg', 'r_leg',
                                         'l_foot', 'r_foot')
    # Stored as bpbreid8, trained as bpbreid4: the folder is the source scheme's.
    ds = MarketFormatDataset(
        root, mode='query', part_labels=dict(scheme='bpbreid4', source_scheme='bpbreid8'))
    info = ds.get_data_info(0)
    assert '/masks/bpbreid8/query/' in info['part_map_path']
    assert info['part_scheme'] == 'bpbreid4' and info['part_source_scheme'] == 'bpbreid8'


def test_missing_part_label(market_factory):
    root = market_factory(label_scheme='bpbreid8', skip_labels=('0007_c2s1_001001_01', ))
    missing = osp.join(root, 'masks', 'bpbreid8', 'query', '0007_c2s1_001001_01.png')
    with pytest.raises(FileNotFoundError) as err:
        MarketFormatDataset(root, mode='query', part_labels=dict(scheme='bpbreid8'))
    assert missing in str(err.value) and 'masks/bpbreid8/<split dir>/' in str(err.value)
    ds = MarketFormatDataset(root, mode='query',
                             part_labels=dict(scheme='bpbreid8', optional=True))
    assert ds.get_data_info(0)['part_map_path'] is not None
    assert ds.get_data_info(1)['part_map_path'] is None


def test_bad_arguments(market_factory):
    root = market_factory()
    with pytest.raises(ValueError, match="mode must be one of"):
        MarketFormatDataset(root, mode='val')
    with pytest.raises(ValueError, match='check_counts'):
        MarketFormatDataset(root, check_counts='maybe')
    with pytest.raises(KeyError, match='schem'):
        MarketFormatDataset(root, part_labels=dict(schem='bpbreid8'))
    with pytest.raises(KeyError, match='unknown part scheme'):
        MarketFormatDataset(root, part_labels=dict(scheme='nope'))
    with pytest.raises(ValueError, match='cannot regroup'):
        MarketFormatDataset(root, part_labels=dict(scheme='bpbreid8', source_scheme='bpbreid2'))
    with pytest.raises(TypeError, match='ann_file'):
        MarketFormatDataset(root, ann_file='x.json')


def test_lazy_init_reads_nothing_until_full_init(tmp_path):
    ds = MarketFormatDataset(str(tmp_path / 'later'), lazy_init=True)
    assert 'not loaded' in repr(ds)
    with pytest.raises(FileNotFoundError):
        ds.full_init()


def test_build_from_config_with_pipeline(market_factory):
    root = market_factory(label_scheme='bpbreid8')
    ds = DATASETS.build(
        dict(type='MarketFormatDataset', data_root=root, mode='train',
             part_labels=dict(scheme='bpbreid8'),
             pipeline=[dict(type='LoadReIDImage'), dict(type='LoadPartLabel'),
                       dict(type='PackReIDInputs')]))
    out = ds[2]
    sample = out['data_samples']
    assert isinstance(sample, ReIDDataSample)
    assert out['inputs'].dtype == torch.uint8 and tuple(out['inputs'].shape) == (3, 8, 4)
    assert sample.pid == 7 and sample.camid == 2 and sample.is_query is False
    assert sample.gt_label.tolist() == [1]
    expected = np.kron(np.array([[1, 1, 0, 0], [2, 4, 4, 3], [5, 0, 0, 6], [7, 0, 0, 8]]),
                       np.ones((2, 1), int))
    assert sample.gt_part_map.data[0].numpy().tolist() == expected.tolist()
    assert 'images=4, ids=3' in repr(ds)


@pytest.mark.realdata
def test_mini_market1501_real_data():
    root = osp.abspath(SHARED_MINI_MARKET)
    if not osp.isdir(root):
        pytest.skip(f'{root} is absent')
    counts = {}
    for mode in ('train', 'query', 'gallery'):
        ds = MarketFormatDataset(root, mode=mode)
        counts[mode] = (len(ds), len(set(ds.get_pids())))
        names = sorted(os.listdir(osp.join(root, MarketFormatDataset.SPLIT_DIRS[mode])))
        first = ds.get_data_info(0)
        assert osp.basename(first['img_path']) == names[0]
        assert first['pid'] == int(names[0][:4])
        assert first['camid'] == int(names[0][6]) - 1
    assert counts == dict(train=(32, 16), query=(32, 16), gallery=(32, 16))
    assert MarketFormatDataset(root, mode='train').metainfo['num_classes'] == 16


def test_built_like_the_runner_whatever_the_default_scope(market_factory):
    from mmengine.registry import DATASETS as ROOT_DATASETS
    from mmengine.registry import DefaultScope
    root = market_factory()
    pipeline = [dict(type='LoadReIDImage'), dict(type='Resize', scale=(2, 4)),
                dict(type='PackReIDInputs')]  # Resize (W, H) is mmcv's, from the root
    with DefaultScope.overwrite_default_scope('mmreidparts'):
        ds = ROOT_DATASETS.build(dict(type='MarketFormatDataset', data_root=root,
                                      mode='query', pipeline=pipeline))
    assert isinstance(ds, MarketFormatDataset)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = MarketFormatDataset(root, mode='query', pipeline=pipeline)
    assert tuple(ds[0]['inputs'].shape) == (3, 4, 2)
