"""Losses: a functional core and a thin registered module per file."""
from .batch_all_triplet_loss import BatchAllTripletLoss, batch_all_triplet
from .body_part_attention_loss import BodyPartAttentionLoss, body_part_attention_loss
from .center_loss import CenterLoss, center_distance
from .cross_entropy_loss import CrossEntropyLoss, cross_entropy
from .part_averaged_triplet_loss import (
    PartAveragedTripletLoss,
    part_averaged_distance,
    shared_parts,
)
from .part_compactness_triplet_loss import (
    PartCompactnessTripletLoss,
    PartsMemoryBank,
    part_compactness_triplet,
)
from .part_hct_loss import PartHCTLoss, part_hct
from .part_seg_loss import PartSegLoss, class_balanced_cross_entropy
from .smoothed_parsing_loss import (
    SmoothedParsingLoss,
    smoothed_parsing_loss,
    spatial_smoothness,
)
from .triplet_loss import (
    TripletLoss,
    batch_hard_triplet,
    pairwise_euclidean,
    pairwise_squared_euclidean,
)
from .utils import reduce_loss, weight_reduce_loss

__all__ = [
    'BatchAllTripletLoss', 'batch_all_triplet', 'pairwise_squared_euclidean',
    'BodyPartAttentionLoss', 'body_part_attention_loss', 'PartAveragedTripletLoss',
    'part_averaged_distance', 'shared_parts', 'PartSegLoss', 'class_balanced_cross_entropy',
    'CenterLoss', 'center_distance', 'CrossEntropyLoss',
    'cross_entropy', 'TripletLoss', 'batch_hard_triplet', 'pairwise_euclidean', 'reduce_loss',
    'weight_reduce_loss', 'PartCompactnessTripletLoss', 'PartsMemoryBank',
    'part_compactness_triplet', 'PartHCTLoss', 'part_hct', 'SmoothedParsingLoss',
    'smoothed_parsing_loss', 'spatial_smoothness'
]
