"""Optimizers."""
from .caffe_sgd import CaffeSGD

__all__ = ['CaffeSGD']
