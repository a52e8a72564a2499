"""The model zoo: models listed in ``configs/*/metafile.yml``, with verified weights.

A metafile entry names its config and, when published, its weights (a URL or a local
path) with the file's SHA-256. ``get_model(name, pretrained=True)`` downloads the
weights into the cache once, checks the hash, and loads them with ``weights_only=True``.
"""
import fnmatch
import hashlib
import os
import os.path as osp
import shutil
import tempfile
import urllib.request
from typing import Dict, List, Optional, Union

import torch.nn as nn
import yaml

from .inference import init_model

_CONFIG_ROOT = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


def _metafiles(config_root: str) -> List[str]:
    """Paths of every ``metafile.yml`` under ``config_root``."""
    out = []
    for name in sorted(os.listdir(config_root)) if osp.isdir(config_root) else []:
        path = osp.join(config_root, name, 'metafile.yml')
        if osp.isfile(path):
            out.append(path)
    return out


def load_model_index(config_root: Optional[str] = None) -> Dict[str, dict]:
    """All models of the zoo by name: ``{name: entry}`` with the config path made absolute."""
    root = config_root or _CONFIG_ROOT
    index: Dict[str, dict] = {}
    for path in _metafiles(root):
        with open(path, encoding='utf-8') as f:
            data = yaml.safe_load(f) or {}
        for entry in data.get('Models', []) or []:
            name = entry.get('Name')
            if not name or 'Config' not in entry:
                raise ValueError(f'{path}: every model needs a Name and a Config, got {entry}')
            if name in index:
                raise ValueError(f'{path}: model name {name!r} is listed twice in the zoo')
            entry = dict(entry)
            cfg = entry['Config']
            entry['Config'] = cfg if osp.isabs(cfg) else osp.join(osp.dirname(root), cfg)
            index[name] = entry
    return index


def list_models(pattern: str = '*', config_root: Optional[str] = None) -> List[str]:
    """Names of the zoo's models matching a shell-style ``pattern``, e.g. ``'bpbreid_*'``."""
    return sorted(n for n in load_model_index(config_root) if fnmatch.fnmatch(n, pattern))


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def fetch_weights(url: str, sha256: Optional[str], cache_dir: Optional[str] = None) -> str:
    """Local path of ``url`` (downloaded into the cache once), after checking its SHA-256.

    A file whose hash differs from ``sha256`` is refused (and removed from the cache).
    """
    if osp.isfile(url):
        path = url
    else:
        cache = cache_dir or osp.join(osp.expanduser('~'), '.cache', 'mmreidparts', 'checkpoints')
        os.makedirs(cache, exist_ok=True)
        path = osp.join(cache, osp.basename(url.split('?')[0]))
        if not osp.isfile(path):
            fd, tmp = tempfile.mkstemp(dir=cache, suffix='.part')
            os.close(fd)
            try:
                with urllib.request.urlopen(url) as src, open(tmp, 'wb') as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(tmp, path)
            finally:
                if osp.exists(tmp):
                    os.remove(tmp)
    if sha256:
        found = sha256_of(path)
        if not found.startswith(sha256.lower()):
            if not osp.isfile(url):
                os.remove(path)
            raise RuntimeError(f'checkpoint {url}: SHA-256 {found} does not match the model '
                               f'zoo ({sha256}); the file is corrupt or not the published one')
    return path


def get_model(name: str,
              pretrained: Union[bool, str] = False,
              device: str = 'cpu',
              cfg_options: Optional[dict] = None,
              config_root: Optional[str] = None) -> nn.Module:
    """Build a zoo model by name; ``pretrained=True`` loads its published, verified weights.

    ``pretrained`` may also be a path to a checkpoint of the same model.
    """
    index = load_model_index(config_root)
    if name not in index:
        raise KeyError(f'no model {name!r} in the model zoo; list_models() gives '
                       f'{len(index)} names, e.g. {sorted(index)[:5]}')
    entry = index[name]
    checkpoint = None
    if pretrained is True:
        weights = entry.get('Weights')
        if not weights:
            raise ValueError(f'model {name!r} has no published weights yet (see model-zoo.md); '
                             'train it with its config or pass pretrained=<checkpoint path>')
        checkpoint = fetch_weights(weights, entry.get('Sha256'))
    elif isinstance(pretrained, str):
        checkpoint = pretrained
    return init_model(entry['Config'], checkpoint, device=device, cfg_options=cfg_options)
