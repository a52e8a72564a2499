"""Top-level ReID models and the data preprocessor."""
from .data_preprocessor import ReIDDataPreprocessor
from .reid_model import ReIDModel

__all__ = ['ReIDDataPreprocessor', 'ReIDModel']
