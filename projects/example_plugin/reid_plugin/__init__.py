"""An example plugin: a BNNeck head that also returns horizontal stripe embeddings."""
from .stripe_head import StripeBNNeckHead

__all__ = ['StripeBNNeckHead']
