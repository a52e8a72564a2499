"""Visualisation of retrieval results."""
from .ranked_list import draw_ranked_list

__all__ = ['draw_ranked_list']
