"""Datasets, transforms and samplers of mmreidparts."""
from .base_reid_dataset import BaseReIDDataset
from .cuhk01 import CUHK01
from .cuhk03 import CUHK03NP, CUHK03Classic
from .dukemtmcreid import DukeMTMCreID
from .market1501 import Market1501
from .market1501_500k import Market1501Distractors
from .market_format import MarketFormatDataset
from .mars import MARS
from .msmt17 import MSMT17
from .occluded_duke import OccludedDuke
from .occluded_reid import OccludedREID
from .p_dukemtmc import PDukeMTMC
from .partial_protocol import make_partial_queries
from .partial_reid import PartialiLIDS, PartialREID
from .samplers import IdentitySampler
from .synthetic import SyntheticPedestrians
from .transforms import (
    LoadPartLabel,
    LoadReIDImage,
    PackReIDInputs,
    PadRandomCrop,
    RandomErasing,
    ReIDRandomFlip,
    ReIDResize,
)

__all__ = [
    'BaseReIDDataset', 'Market1501', 'DukeMTMCreID', 'OccludedDuke', 'MarketFormatDataset',
    'SyntheticPedestrians', 'IdentitySampler', 'LoadReIDImage', 'LoadPartLabel', 'ReIDResize',
    'PadRandomCrop', 'ReIDRandomFlip', 'RandomErasing', 'PackReIDInputs', 'OccludedREID',
    'PDukeMTMC', 'PartialREID', 'PartialiLIDS', 'CUHK03NP', 'CUHK03Classic', 'CUHK01',
    'MSMT17', 'Market1501Distractors', 'make_partial_queries', 'MARS'
]
