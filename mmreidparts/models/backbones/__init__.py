"""Backbone adapters over mmpretrain / mmseg backbones, and the part-aligned bilinear streams."""
from .googlenet_bvlc import GoogLeNetBVLC
from .hrnet_fused import HRNetFused
from .mobilenet_v2_reid import MobileNetV2ReID
from .multi_branch import MultiBranchBackbone
from .openpose_trunk import OpenPoseTrunk
from .resnet_ibn import IBN, ResNetIBN
from .resnet_reid import ResNetReID
from .two_stream import TwoStreamBackbone

__all__ = ['GoogLeNetBVLC', 'HRNetFused', 'IBN', 'MobileNetV2ReID', 'MultiBranchBackbone',
           'OpenPoseTrunk', 'ResNetIBN', 'ResNetReID', 'TwoStreamBackbone']
