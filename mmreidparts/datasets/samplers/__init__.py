"""Samplers of mmreidparts."""
from .identity_sampler import IdentitySampler

__all__ = ['IdentitySampler']
