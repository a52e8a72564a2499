"""Feature files: the embeddings of a dataset or folder in one file, ranked without the model.

A feature file is a ``torch.save`` dict read back with ``weights_only=True``:

=================== ==========================================================
``embeddings``      ``[N, P, D]`` float32
``visibility``      ``[N, P]`` float32
``embedding_names`` P names
``img_paths``       N image paths (``''`` for in-memory images)
``pids``            ``[N]`` long person ids (-1 unknown)
``camids``          ``[N]`` long camera ids (-1 unknown)
``is_query``        ``[N]`` bool
``skipped``         ``[[path, reason], ...]`` images that could not be read
``meta``            JSON-able dict: ``eval_protocol``, ``evaluator`` (metric,
                    normalize), ``model`` (config, checkpoint), fingerprints...
=================== ==========================================================

Written by ``tools/analysis_tools/extract_features.py``, ``tools/test.py --dump``, the
gallery cache of the demos; read by ``tools/analysis_tools/rank_features.py``.
"""
import json
import os
import os.path as osp
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

FEATURE_KEYS = ('embeddings', 'visibility', 'embedding_names', 'img_paths', 'pids', 'camids',
                'is_query', 'skipped', 'meta')
FORMAT_VERSION = 1


def make_features(embeddings: torch.Tensor,
                  visibility: torch.Tensor,
                  embedding_names: Sequence[str],
                  img_paths: Sequence[str],
                  pids: Optional[Sequence[int]] = None,
                  camids: Optional[Sequence[int]] = None,
                  is_query: Optional[Sequence[bool]] = None,
                  skipped: Sequence[Tuple[str, str]] = (),
                  meta: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """A feature dict (see the module doc), checked; unknown ids are -1."""
    num = embeddings.shape[0]
    out = dict(
        embeddings=embeddings.detach().float().cpu(),
        visibility=visibility.detach().float().cpu(),
        embedding_names=list(embedding_names),
        img_paths=[str(p) for p in img_paths],
        pids=torch.as_tensor([-1] * num if pids is None else list(pids), dtype=torch.long),
        camids=torch.as_tensor([-1] * num if camids is None else list(camids),
                               dtype=torch.long),
        is_query=torch.as_tensor([False] * num if is_query is None else list(is_query),
                                 dtype=torch.bool),
        skipped=[[str(a), str(b)] for a, b in skipped],
        meta=dict(meta or {}, format_version=FORMAT_VERSION))
    check_features(out, 'features')
    json.dumps(out['meta'])  # raises on what a weights_only load could not read back
    return out


def check_features(feats: Dict[str, Any], name: str) -> None:
    """Raise a ValueError naming ``name`` when a feature dict is incomplete or inconsistent."""
    missing = [k for k in FEATURE_KEYS if k not in feats]
    if missing:
        raise ValueError(f'{name}: not a feature file of mmreidparts, it lacks {missing} '
                         '(write one with tools/analysis_tools/extract_features.py)')
    emb, vis = feats['embeddings'], feats['visibility']
    if not isinstance(emb, torch.Tensor) or emb.dim() != 3:
        raise ValueError(f'{name}: embeddings must be [N, P, D], got '
                         f'{getattr(emb, "shape", type(emb).__name__)}')
    num, parts = emb.shape[:2]
    if not isinstance(vis, torch.Tensor) or tuple(vis.shape) != (num, parts):
        raise ValueError(f'{name}: visibility must be [N, P] = {(num, parts)}, got '
                         f'{getattr(vis, "shape", type(vis).__name__)}')
    if len(feats['embedding_names']) != parts:
        raise ValueError(f'{name}: {len(feats["embedding_names"])} embedding names for P='
                         f'{parts}')
    for key in ('img_paths', 'pids', 'camids', 'is_query'):
        if len(feats[key]) != num:
            raise ValueError(f'{name}: {key} has {len(feats[key])} entries for {num} images')


def save_features(feats: Dict[str, Any], path: str) -> str:
    """Write a feature dict atomically to ``path``; return the path."""
    check_features(feats, path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.part')
    os.close(fd)
    try:
        torch.save({k: feats[k] for k in FEATURE_KEYS}, tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path


def load_features(path: str) -> Dict[str, Any]:
    """Read a feature file safely (``weights_only=True``) and check it."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'feature file not found: {path}')
    try:
        feats = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f'cannot read the feature file {path}: {err}') from err
    if not isinstance(feats, dict):
        raise ValueError(f'{path}: expected a dict of features, got {type(feats).__name__}')
    check_features(feats, path)
    return feats


def split_query_gallery(feats: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The query and gallery rows of one feature dict (by ``is_query``)."""
    out: List[Dict[str, Any]] = []
    for flag in (True, False):
        idx = [i for i, q in enumerate(feats['is_query'].tolist()) if q == flag]
        index = torch.as_tensor(idx, dtype=torch.long)
        part = dict(feats)
        for key in ('embeddings', 'visibility', 'pids', 'camids', 'is_query'):
            part[key] = feats[key][index]
        part['img_paths'] = [feats['img_paths'][i] for i in idx]
        out.append(part)
    return out[0], out[1]
