"""Transforms of mmreidparts (loading, processing, formatting)."""
from .formatting import PackReIDInputs
from .loading import LoadKeypoints, LoadPartLabel, LoadReIDImage
from .pifpaf_labels import LoadPifPafLabel
from .processing import PadRandomCrop, RandomErasing, ReIDRandomFlip, ReIDResize
from .vpm_crop import PartialQueryCrop, VPMRandomCrop

__all__ = [
    'LoadReIDImage', 'LoadPartLabel', 'ReIDResize', 'PadRandomCrop', 'ReIDRandomFlip',
    'RandomErasing', 'PackReIDInputs', 'LoadPifPafLabel', 'VPMRandomCrop',
    'PartialQueryCrop', 'LoadKeypoints'
]
