"""User-facing API: build a model, extract embeddings."""
from .inference import inference_model, init_model

__all__ = ['init_model', 'inference_model']
