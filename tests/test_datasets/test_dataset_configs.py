"""Dataset configs load, name registered datasets and the protocol their test set declares."""
import copy
import os.path as osp

import pytest
from mmengine.config import Config

from mmreidparts.datasets import (
    CUHK01,
    BaseReIDDataset,
    DukeMTMCreID,
    Market1501,
    MarketFormatDataset,
    OccludedDuke,
    PartialiLIDS,
    PartialREID,
    SyntheticPedestrians,
)
from mmreidparts.evaluation.functional.ranking import PROTOCOLS
from mmreidparts.registry import DATASETS
from mmreidparts.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATASET_CONFIGS = osp.join(ROOT, 'configs', '_base_', 'datasets')

register_all_modules()

# config -> (train dataset type, test dataset type, protocol)
EXPECTED = {
    'cuhk03_np_detected': ('CUHK03NP', 'CUHK03NP', 'market'),
    'cuhk03_np_labeled': ('CUHK03NP', 'CUHK03NP', 'market'),
    'cuhk03_classic': ('CUHK03Classic', 'CUHK03Classic', 'cuhk03_classic'),
    'cuhk01': ('CUHK01', 'CUHK01', 'cuhk03_classic'),
    'msmt17': ('MSMT17', 'MSMT17', 'market'),
    'partial_reid': ('Market1501', 'PartialREID', 'all'),
    'partial_ilids': ('Market1501', 'PartialiLIDS', 'all'),
    'market1501_500k': ('Market1501', 'Market1501Distractors', 'market'),
    'mars': ('MARS', 'MARS', 'market'),
}


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_dataset_config_parses_and_matches_its_dataset(name):
    cfg = Config.fromfile(osp.join(DATASET_CONFIGS, f'{name}.py'))
    train_type, test_type, protocol = EXPECTED[name]
    assert cfg.train_dataloader.dataset.type == train_type
    assert cfg.train_dataloader.dataset.mode == 'train'
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        assert loader.dataset.type == test_type and loader.dataset.mode == 'test'
    for dataset_type in (train_type, test_type):
        assert issubclass(DATASETS.get(dataset_type), BaseReIDDataset)
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert evaluator.type == 'ReIDMetric' and evaluator.protocol == protocol
    assert protocol in PROTOCOLS
    # the test dataset builds (folders are read later) and declares the same protocol
    test_cfg = copy.deepcopy(cfg.test_dataloader.dataset.to_dict())
    dataset = DATASETS.build(dict(test_cfg, lazy_init=True))
    assert dataset.metainfo['eval_protocol'] == protocol
    assert 'num_classes' not in cfg.train_dataloader.dataset


def test_subset_and_split_arguments_reach_the_dataset():
    labeled = Config.fromfile(osp.join(DATASET_CONFIGS, 'cuhk03_np_labeled.py'))
    assert labeled.val_dataloader.dataset.subset == 'labeled'
    detected = Config.fromfile(osp.join(DATASET_CONFIGS, 'cuhk03_np_detected.py'))
    assert detected.train_dataloader.dataset.subset == 'detected'
    classic = Config.fromfile(osp.join(DATASET_CONFIGS, 'cuhk03_classic.py'))
    assert classic.train_dataloader.dataset.split_index == 0
    assert classic.val_dataloader.dataset.split_index == 0


def test_every_registered_reid_dataset_declares_a_known_protocol():
    classes = [cls for cls in DATASETS.module_dict.values()
               if isinstance(cls, type) and issubclass(cls, BaseReIDDataset)]
    assert len(classes) >= 14
    for cls in classes:
        assert cls.EVAL_PROTOCOL in PROTOCOLS, cls.__name__
    for cls in (BaseReIDDataset, Market1501, DukeMTMCreID, OccludedDuke, MarketFormatDataset,
                SyntheticPedestrians):
        assert cls.EVAL_PROTOCOL == 'market'
    assert PartialREID.EVAL_PROTOCOL == PartialiLIDS.EVAL_PROTOCOL == 'all'
    assert CUHK01.EVAL_PROTOCOL == 'cuhk03_classic'
