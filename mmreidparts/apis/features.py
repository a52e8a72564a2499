"""Features for search and evaluation without the model: extraction, gallery cache, ranking.

The file format is :mod:`mmreidparts.structures.features`.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from mmreidparts.evaluation.functional import part_distance
from mmreidparts.structures.features import (
    load_features,
    make_features,
    save_features,
    split_query_gallery,
)

from .inferencer import ReIDInferencer, list_images, stack_predictions


def _tensor_bytes(t: torch.Tensor) -> bytes:
    """The raw bytes of a tensor of any dtype."""
    return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def model_fingerprint(model: nn.Module) -> str:
    """A hex digest of what determines a model's embeddings: weights and test settings.

    An ONNX-backed model gives the hash of its file (``model.fingerprint``); a PyTorch
    model the hash of its state dict, its test config and its config's model and test
    pipeline.
    """
    own = getattr(model, 'fingerprint', None)
    digest = hashlib.blake2b(digest_size=20)
    cfg = getattr(model, 'cfg', None)
    if cfg is not None:
        from .inference import test_pipeline_cfg
        text = json.dumps(dict(model=cfg.get('model'), pipeline=test_pipeline_cfg(cfg)),
                          sort_keys=True, default=str)
        digest.update(text.encode())
    if isinstance(own, str):
        digest.update(own.encode())
        return digest.hexdigest()
    digest.update(json.dumps(getattr(model, 'test_cfg', None), sort_keys=True,
                             default=str).encode())
    for key, value in model.state_dict().items():
        digest.update(f'{key}:{value.dtype}:{tuple(value.shape)}'.encode())
        digest.update(_tensor_bytes(value))
    return digest.hexdigest()


def files_fingerprint(paths: Sequence[str], root: Optional[str] = None) -> str:
    """A hex digest of a set of files: their names (relative to ``root``), sizes and
    modification times (a rewritten, added or removed file changes it)."""
    digest = hashlib.blake2b(digest_size=20)
    for path in sorted(paths):
        stat = os.stat(path)
        name = osp.relpath(path, root) if root else osp.abspath(path)
        digest.update(f'{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n'.encode())
    return digest.hexdigest()


def features_of(inferencer: ReIDInferencer,
                inputs: Sequence[Union[str, np.ndarray]],
                pids: Optional[Sequence[int]] = None,
                camids: Optional[Sequence[int]] = None,
                is_query: Optional[Sequence[bool]] = None,
                batch_size: int = 32,
                on_error: str = 'skip',
                meta: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Embed image files (or arrays, path ``''``) into a feature dict.

    Unreadable images are skipped (``on_error='skip'``) and listed in ``skipped``; the
    ids given for them are dropped with them.
    """
    inputs = list(inputs)
    preds = inferencer(inputs, batch_size=batch_size, on_error=on_error)
    if not preds:
        raise ValueError(f'none of the {len(inputs)} images could be read: '
                         f'{inferencer.skipped[:3]}')
    keep = [i for i in range(len(inputs)) if i not in inferencer.skipped_index]
    stacked = stack_predictions(preds)

    def pick(seq: Optional[Sequence]) -> Optional[list]:
        return None if seq is None else [seq[i] for i in keep]

    evaluator = inferencer.cfg.get('test_evaluator', None) or {}
    info = dict(evaluator=dict(metric=evaluator.get('metric', 'euclidean'),
                               normalize=bool(evaluator.get('normalize', False))))
    info.update(meta or {})
    paths = [inputs[i] if isinstance(inputs[i], str) else '' for i in keep]
    return make_features(stacked['embeddings'], stacked['visibility'],
                         stacked['embedding_names'], paths, pick(pids), pick(camids),
                         pick(is_query), inferencer.skipped, info)


def cached_folder_features(inferencer: ReIDInferencer,
                           folder: str,
                           cache_dir: str,
                           batch_size: int = 32) -> Tuple[Dict[str, Any], bool]:
    """Features of the images of ``folder``, from the cache when model and images are the same.

    The cache file is ``<cache_dir>/<hash of model and folder>.pt``; it holds the
    fingerprints of the model and of the folder's files, and is rebuilt when either
    differs. Returns ``(features, True if read from the cache)``.
    """
    paths = list_images(folder)
    if not paths:
        raise ValueError(f'no images in the gallery folder {folder} (extensions '
                         'jpg, png, bmp, ...)')
    model_key = model_fingerprint(inferencer.model)
    gallery_key = files_fingerprint(paths, folder)
    name = hashlib.blake2b(f'{model_key}\0{osp.abspath(folder)}'.encode(),
                           digest_size=10).hexdigest()
    cache_file = osp.join(cache_dir, f'gallery_{name}.pt')
    if osp.isfile(cache_file):
        try:
            cached = load_features(cache_file)
        except ValueError:
            cached = None  # unreadable: rebuilt below
        if cached is not None and cached['meta'].get('model_fingerprint') == model_key and \
                cached['meta'].get('gallery_fingerprint') == gallery_key:
            return cached, True
    feats = features_of(inferencer, paths, batch_size=batch_size,
                        meta=dict(model_fingerprint=model_key, gallery_fingerprint=gallery_key,
                                  gallery=osp.abspath(folder)))
    save_features(feats, cache_file)
    return feats, False


def rank(query: Dict[str, Any], gallery: Dict[str, Any], topk: int = 10,
         metric: Optional[str] = None, normalize: Optional[bool] = None
         ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ``topk`` nearest gallery images of each query by the part distance.

    The metric and normalisation default to the gallery file's evaluator settings.
    Returns ``(indices [Q, k], distances [Q, k])``, nearest first (``+inf`` when nothing
    is mutually visible).
    """
    evaluator = gallery['meta'].get('evaluator', {})
    metric = metric or evaluator.get('metric', 'euclidean')
    normalize = evaluator.get('normalize', False) if normalize is None else normalize
    if list(query['embedding_names']) != list(gallery['embedding_names']):
        raise ValueError(f'query and gallery features come from different models: '
                         f'embeddings {query["embedding_names"]} vs '
                         f'{gallery["embedding_names"]}')
    dist = part_distance(query['embeddings'], query['visibility'], gallery['embeddings'],
                         gallery['visibility'], metric=metric, normalize=normalize)  # [Q, G]
    k = min(topk, dist.shape[1])
    values, order = torch.sort(dist, dim=1, stable=True)
    return order[:, :k], values[:, :k]


__all__ = ['features_of', 'cached_folder_features', 'model_fingerprint', 'files_fingerprint',
           'rank', 'make_features', 'save_features', 'load_features', 'split_query_gallery']
