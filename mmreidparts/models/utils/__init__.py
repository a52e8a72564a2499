"""Model utilities: pooling, safe weight loading and torchvision key conversion."""
from .checkpoint import (
    check_state_dict_matches,
    extract_state_dict,
    load_backbone_weights,
    load_checkpoint_file,
    pretrained_source,
)
from .pooling import GeneralizedMeanPooling, GlobalPool
from .torchvision_converter import (
    convert_mobilenet_v2,
    convert_resnet,
    detect_layout,
    torchvision_to_mmpretrain,
)

__all__ = [
    'check_state_dict_matches', 'extract_state_dict', 'load_backbone_weights',
    'load_checkpoint_file', 'pretrained_source', 'GeneralizedMeanPooling', 'GlobalPool',
    'convert_mobilenet_v2', 'convert_resnet', 'detect_layout', 'torchvision_to_mmpretrain'
]
