"""Backbone adapters over mmpretrain / mmseg backbones."""
from .hrnet_fused import HRNetFused
from .mobilenet_v2_reid import MobileNetV2ReID
from .multi_branch import MultiBranchBackbone
from .resnet_ibn import IBN, ResNetIBN
from .resnet_reid import ResNetReID

__all__ = [
    'HRNetFused', 'IBN', 'MobileNetV2ReID', 'MultiBranchBackbone', 'ResNetIBN', 'ResNetReID'
]
