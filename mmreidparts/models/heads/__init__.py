"""Heads: one file per head family."""
from .bnneck_head import BNNeckHead
from .bpbreid_head import BPBreIDHead
from .drop_head import DROPHead
from .embedding_head import EmbeddingHead
from .global_pool_head import GlobalPoolHead
from .mgn_head import MGNHead
from .part_bilinear_head import PartBilinearHead
from .part_seg_head import PartSegHead
from .pcb_head import PCBHead
from .pose_distill_head import PoseDistillHead
from .vpm_head import VPMHead

__all__ = ['BNNeckHead', 'BPBreIDHead', 'DROPHead', 'EmbeddingHead', 'GlobalPoolHead', 'MGNHead',
           'PartBilinearHead', 'PartSegHead', 'PCBHead', 'PoseDistillHead', 'VPMHead']
