"""Registered evaluation metrics."""
from .dump_features import DumpReIDFeatures
from .part_parsing_metric import PartParsingMetric
from .reid_metric import ReIDMetric

__all__ = ['ReIDMetric', 'DumpReIDFeatures', 'PartParsingMetric']
