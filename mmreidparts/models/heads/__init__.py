"""Heads: one file per head family."""
from .bnneck_head import BNNeckHead
from .bpbreid_head import BPBreIDHead

__all__ = ['BNNeckHead', 'BPBreIDHead']
