"""The dataset's evaluation protocol travels in its metainfo to ReIDMetric(protocol='auto')."""
import cv2
import numpy as np
from mmengine.evaluator import Evaluator

from mmreidparts.datasets import Market1501, MarketFormatDataset, PartialREID
from mmreidparts.evaluation import ReIDMetric


def test_market_layout_metainfo_declares_market(market_factory):
    root = market_factory()
    ds = MarketFormatDataset(root, mode='test')
    assert ds.metainfo['eval_protocol'] == 'market'
    assert ds.metainfo['dataset_name'] == 'market_format'
    # known before the folders are read
    lazy = Market1501(root, mode='test', lazy_init=True)
    assert lazy.metainfo['eval_protocol'] == 'market'


def test_protocol_reaches_the_metric_through_the_evaluator(tmp_path):
    root = tmp_path / 'Partial_REID'
    for kind in ('partial_body_images', 'whole_body_images'):
        (root / kind).mkdir(parents=True)
        cv2.imwrite(str(root / kind / '001_01.jpg'), np.zeros((8, 4, 3), np.uint8))
    ds = PartialREID(str(root), check_counts='off')
    assert ds.metainfo['eval_protocol'] == 'all'
    metric = ReIDMetric()
    evaluator = Evaluator([metric])
    evaluator.dataset_meta = ds.metainfo  # what mmengine's loops do
    assert metric.resolve_protocol() == 'all'


def test_subclass_protocol_overrides_the_base(market_factory):
    class AllProtocolMarket(MarketFormatDataset):
        """Market layout ranked without camera filtering."""

        EVAL_PROTOCOL = 'all'

    ds = AllProtocolMarket(market_factory(), mode='query')
    assert ds.metainfo['eval_protocol'] == 'all'
    metric = ReIDMetric()
    metric.dataset_meta = ds.metainfo
    assert metric.resolve_protocol() == 'all'
