"""Optimizer wrappers."""
from .cpu_autocast_optim_wrapper import (
    CPUAutocastOptimWrapper,
    cpu_bfloat16_supported,
    resolve_cpu_amp,
)

__all__ = ['CPUAutocastOptimWrapper', 'cpu_bfloat16_supported', 'resolve_cpu_amp']
