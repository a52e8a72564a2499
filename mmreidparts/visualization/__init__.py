"""Visualisation of retrieval results."""
from .part_overlay import (
    draw_embedding_legend,
    draw_reid_tile,
    draw_visibility_strip,
    embedding_colours,
    visible_parts,
)
from .ranked_list import draw_ranked_list

__all__ = ['draw_ranked_list', 'draw_reid_tile', 'draw_visibility_strip', 'embedding_colours',
           'draw_embedding_legend', 'visible_parts']
