"""Heads: one file per head family."""
from .bnneck_head import BNNeckHead
from .bpbreid_head import BPBreIDHead
from .part_bilinear_head import PartBilinearHead

__all__ = ['BNNeckHead', 'BPBreIDHead', 'PartBilinearHead']
