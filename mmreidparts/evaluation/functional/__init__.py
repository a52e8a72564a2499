"""Pure functions of the ReID evaluation: part distance, ranking metrics, re-ranking,
parsing counts."""
from .parsing import (
    counts_from_confusion,
    mean_iou,
    parsing_counts,
    parsing_iou,
    parsing_metrics,
    part_confusion,
    predicted_parsing,
)
from .part_distance import operand_distance, part_distance, prepare_operand
from .ranking import PROTOCOLS, GalleryIndex, QueryRanks, RankMetrics, rank_metrics, rank_queries
from .rerank import k_reciprocal_rerank
from .retrieval import auto_chunk_size, part_rank_metrics

__all__ = [
    'part_distance', 'prepare_operand', 'operand_distance', 'rank_metrics', 'rank_queries',
    'GalleryIndex', 'QueryRanks', 'RankMetrics', 'PROTOCOLS', 'k_reciprocal_rerank',
    'part_rank_metrics', 'auto_chunk_size', 'predicted_parsing', 'parsing_counts',
    'part_confusion', 'counts_from_confusion', 'parsing_iou', 'mean_iou', 'parsing_metrics'
]
