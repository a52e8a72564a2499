"""Heads: one file per head family."""
from .bnneck_head import BNNeckHead
from .bpbreid_head import BPBreIDHead
from .part_bilinear_head import PartBilinearHead
from .pose_distill_head import PoseDistillHead
from .vpm_head import VPMHead

__all__ = ['BNNeckHead', 'BPBreIDHead', 'PartBilinearHead', 'PoseDistillHead', 'VPMHead']
