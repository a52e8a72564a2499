"""The model zoo API: the models of ``model-index.yml``, built with verified weights.

``get_model(name, pretrained=True)`` finds the entry's weights in the local zoo directory
(``$MMREIDPARTS_ZOO``), else downloads them from the entry's URL (``$MMREIDPARTS_ZOO_URL``
for a mirror), checks their size and SHA-256, and loads them with ``weights_only=True``
(see :mod:`mmreidparts.zoo` and docs/model_zoo.md).
"""
import fnmatch
import os.path as osp
from typing import Dict, List, Optional, Union

import torch.nn as nn

from mmreidparts.zoo import download_file, load_index, locate_weights, sha256_of, verify_file
from mmreidparts.zoo.download import DEFAULT_RETRIES, DEFAULT_TIMEOUT
from mmreidparts.zoo.store import zoo_dir

from .inference import init_model

__all__ = ['load_model_index', 'list_models', 'fetch_weights', 'get_model', 'sha256_of']


def load_model_index(config_root: Optional[str] = None) -> Dict[str, dict]:
    """All models of the zoo by name: ``{name: entry}`` with the config path made absolute.

    ``config_root``: a ``model-index.yml``, or a folder of method folders with metafiles
    (default: the repository's ``model-index.yml``).
    """
    return load_index(config_root)


def list_models(pattern: str = '*', config_root: Optional[str] = None) -> List[str]:
    """Names of the zoo's models matching a shell-style ``pattern``, e.g. ``'bpbreid_*'``."""
    return sorted(n for n in load_model_index(config_root) if fnmatch.fnmatch(n, pattern))


def fetch_weights(url: str,
                  sha256: Optional[str],
                  cache_dir: Optional[str] = None,
                  size: Optional[int] = None,
                  timeout: float = DEFAULT_TIMEOUT,
                  retries: int = DEFAULT_RETRIES) -> str:
    """Local path of ``url`` after checking its SHA-256 (and size, when given).

    A local file is checked in place; a URL is downloaded into ``cache_dir`` (default: the
    zoo directory) once, resumably, and renamed into place only once verified.
    """
    if osp.isfile(url):
        verify_file(url, sha256, size)
        return url
    path = osp.join(zoo_dir(cache_dir), osp.basename(url.split('?')[0]))
    if osp.isfile(path):
        verify_file(path, sha256, size)
        return path
    return download_file(url, path, sha256, size, timeout=timeout, retries=retries)


def get_model(name: str,
              pretrained: Union[bool, str] = False,
              device: str = 'cpu',
              cfg_options: Optional[dict] = None,
              config_root: Optional[str] = None,
              zoo: Optional[str] = None,
              url: Optional[str] = None) -> nn.Module:
    """Build a zoo model by name; ``pretrained=True`` loads its verified weights.

    Args:
        name: a name of :func:`list_models`.
        pretrained: True for the zoo's weights (local zoo directory, a local build, then a
            download), or the path of a checkpoint of the same model.
        device: where the model goes.
        cfg_options: overrides of the entry's config.
        config_root: the model index to read (see :func:`load_model_index`).
        zoo: the zoo directory (default ``$MMREIDPARTS_ZOO`` or ``~/.cache/mmreidparts/zoo``).
        url: base URL of the published files (default ``$MMREIDPARTS_ZOO_URL``).
    """
    index = load_model_index(config_root)
    if name not in index:
        raise KeyError(f'no model {name!r} in the model zoo; list_models() gives '
                       f'{len(index)} names, e.g. {sorted(index)[:5]}')
    entry = index[name]
    checkpoint = None
    if pretrained is True:
        checkpoint, _ = locate_weights(entry, zoo, url)
    elif isinstance(pretrained, str):
        checkpoint = pretrained
    return init_model(entry['Config'], checkpoint, device=device, cfg_options=cfg_options)
