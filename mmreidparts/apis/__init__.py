"""User-facing API: the model zoo, building a model, extracting embeddings."""
from .inference import inference_model, init_model
from .inferencer import ReIDInferencer, list_images
from .model_zoo import fetch_weights, get_model, list_models, load_model_index, sha256_of

__all__ = ['init_model', 'inference_model', 'ReIDInferencer', 'list_images', 'list_models',
           'get_model', 'load_model_index', 'fetch_weights', 'sha256_of']
