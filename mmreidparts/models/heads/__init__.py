"""Heads: one file per head family."""
from .bnneck_head import BNNeckHead
from .bpbreid_head import BPBreIDHead
from .vpm_head import VPMHead

__all__ = ['BNNeckHead', 'BPBreIDHead', 'VPMHead']
