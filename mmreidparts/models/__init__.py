"""Models: data preprocessor, top-level models, backbone adapters, heads and losses."""
from .backbones import MobileNetV2ReID, ResNetReID
from .heads import BNNeckHead
from .losses import CenterLoss, CrossEntropyLoss, TripletLoss
from .reid import ReIDDataPreprocessor, ReIDModel

__all__ = [
    'MobileNetV2ReID', 'ResNetReID', 'BNNeckHead', 'CenterLoss', 'CrossEntropyLoss',
    'TripletLoss', 'ReIDDataPreprocessor', 'ReIDModel'
]
