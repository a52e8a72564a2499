"""Model utilities: pooling, safe weight loading and torchvision key conversion."""
from .bilinear_pooling import (
    BilinearPooling,
    CompactBilinearPooling,
    bilinear_pool,
    count_sketch_matrix,
    mean_circular_convolution,
    real_dft_matrices,
    sketch_hashes,
    tensor_sketch,
)
from .checkpoint import (
    check_state_dict_matches,
    extract_state_dict,
    load_backbone_weights,
    load_checkpoint_file,
    load_converted_weights,
    pretrained_source,
)
from .embedding import BNNeck, conv_bn_embedding, dim_reduction, id_classifier
from .input_norm import InputNorm
from .keypoint_maps import keypoint_heatmaps
from .part_maps import part_visibility, pixel_logits, resize_part_labels, stack_part_labels
from .pooling import (
    GeneralizedMeanPooling,
    GlobalPool,
    masked_average_pool,
    pool_by_masks,
    strip_pool,
    weighted_average_pool,
)
from .torchvision_converter import (
    convert_mobilenet_v2,
    convert_resnet,
    detect_layout,
    torchvision_to_mmpretrain,
)

__all__ = [
    'BilinearPooling', 'CompactBilinearPooling', 'bilinear_pool', 'count_sketch_matrix',
    'sketch_hashes', 'tensor_sketch', 'mean_circular_convolution', 'real_dft_matrices',
    'check_state_dict_matches', 'extract_state_dict', 'load_backbone_weights',
    'load_converted_weights',
    'load_checkpoint_file', 'pretrained_source', 'GeneralizedMeanPooling', 'GlobalPool',
    'pool_by_masks', 'strip_pool', 'weighted_average_pool', 'masked_average_pool',
    'part_visibility', 'stack_part_labels', 'resize_part_labels', 'pixel_logits', 'BNNeck',
    'dim_reduction', 'id_classifier', 'conv_bn_embedding', 'InputNorm', 'keypoint_heatmaps',
    'convert_mobilenet_v2', 'convert_resnet', 'detect_layout', 'torchvision_to_mmpretrain'
]
