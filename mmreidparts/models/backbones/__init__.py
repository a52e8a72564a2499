"""Backbone adapters over mmpretrain / mmseg backbones, and the part-aligned bilinear streams."""
from .googlenet_bvlc import GoogLeNetBVLC
from .hrnet_fused import HRNetFused
from .mobilenet_v2_reid import MobileNetV2ReID
from .openpose_trunk import OpenPoseTrunk
from .resnet_ibn import IBN, ResNetIBN
from .resnet_reid import ResNetReID
from .two_stream import TwoStreamBackbone

__all__ = ['GoogLeNetBVLC', 'HRNetFused', 'IBN', 'MobileNetV2ReID', 'OpenPoseTrunk', 'ResNetIBN',
           'ResNetReID', 'TwoStreamBackbone']
