"""Safe checkpoint loading.

Checkpoints are untrusted input: they are always read with ``torch.load(...,
weights_only=True)``. Training checkpoints are written by mmengine with their message
hub turned into plain data (:class:`mmreidparts.engine.hooks.PlainCheckpointHook`);
what else they hold besides tensors (numpy arrays and scalars in ``meta``, the
``Counter`` of ``MultiStepLR``'s milestones) are data-only classes that
:func:`register_checkpoint_safe_globals` allow-lists, so that ``resume`` and
``load_from`` work without switching the safety off.
"""
import os
import os.path as osp
import re
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from .errors import CheckpointError


def _numpy_globals() -> List[object]:
    """Numpy classes and functions that pickled arrays and dtypes refer to."""
    out: List[object] = [np.ndarray, np.dtype]
    for mod_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct'])
        except ImportError:
            continue
        out += [getattr(mod, '_reconstruct'), getattr(mod, 'scalar')]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        out += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return out


_REGISTERED = False
_CKPT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


def register_checkpoint_safe_globals() -> None:
    """Allow-list the data classes of mmengine training checkpoints for weights_only loading."""
    global _REGISTERED
    if _REGISTERED or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    from collections import Counter
    torch.serialization.add_safe_globals([Counter] + _numpy_globals())
    _REGISTERED = True


def read_checkpoint(path: str, map_location: str = 'cpu', encoding: str = 'utf-8') -> dict:
    """Read a checkpoint file with ``weights_only=True``; a :class:`CheckpointError` if unreadable.

    The error names the file and says why: empty, truncated or corrupt, or holding
    objects that safe loading refuses. ``encoding='latin1'`` reads checkpoints pickled by
    Python 2 (their byte strings, e.g. the data of numpy scalars, are decoded as latin-1,
    as numpy expects).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    size = osp.getsize(path)
    if size == 0:
        raise CheckpointError(f'cannot read checkpoint {path}: the file is empty (0 bytes), '
                              'e.g. a save that was interrupted')
    register_checkpoint_safe_globals()
    try:
        with warnings.catch_warnings():
            # torch warns that pickle arguments are ignored with weights_only; the
            # encoding is in fact passed to its restricted unpickler
            warnings.filterwarnings('ignore', message='pickle_load_args only works')
            ckpt = torch.load(path, map_location=map_location, weights_only=True,
                              encoding=encoding)
    except Exception as e:  # noqa: BLE001 - any decoding failure, re-raised with the name
        text = str(e)
        lines = text.splitlines()
        unsafe = next((ln.strip() for ln in lines if 'Unsupported global' in ln), None)
        if unsafe is not None:
            raise CheckpointError(
                f'cannot read checkpoint {path}: {unsafe}. Checkpoints are loaded with '
                'weights_only=True, so a file that needs other pickled objects than tensors '
                'and plain data is refused; save a plain state_dict (e.g. with '
                'mmreidparts.utils.save_zoo_checkpoint) from a trusted environment.') from e
        reason = lines[0] if lines else type(e).__name__
        raise CheckpointError(f'cannot read checkpoint {path} ({size} bytes): it is '
                              f'truncated or corrupt ({type(e).__name__}: {reason})') from e
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'checkpoint {path} holds a {type(ckpt).__name__}, expected a '
                              'dict')
    return ckpt


def load_state_dict_file(path: str, map_location: str = 'cpu') -> Tuple[Dict, Dict]:
    """Read a checkpoint file safely; return ``(state_dict, meta)``.

    Accepts mmengine checkpoints (``state_dict`` + ``meta``), model-zoo checkpoints
    (same keys, meta JSON-able) and bare state dicts.
    """
    ckpt = read_checkpoint(path, map_location)
    if 'state_dict' in ckpt:
        state, meta = ckpt['state_dict'], ckpt.get('meta', {}) or {}
    else:
        state, meta = ckpt, {}
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CheckpointError(f'checkpoint {path}: the state dict holds other entries than '
                              'named tensors')
    if not isinstance(meta, dict):
        raise CheckpointError(f'checkpoint {path}: its meta is a {type(meta).__name__}, '
                              'expected a dict')
    state = OrderedDict((k[7:] if k.startswith('module.') else k, v) for k, v in state.items())
    return state, meta


def _step_of(name: str) -> Optional[Tuple[str, int]]:
    """``('epoch', 3)`` for ``epoch_3.pth`` (``iter_N.pth`` likewise); None for other names."""
    match = _CKPT_NAME.match(name)
    return (match.group(1), int(match.group(2))) if match else None


def find_resumable_checkpoint(work_dir: str) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """The newest readable training checkpoint of a work dir, and the unreadable ones.

    The file named by ``<work_dir>/last_checkpoint`` comes first, then the ``epoch_N.pth``
    (or ``iter_N.pth``) files of its folder and of ``work_dir``, newest step first. Each
    is read with ``weights_only=True`` until one loads as a training checkpoint.

    Returns:
        ``(path or None, [(path, reason), ...])``: the checkpoint to resume from (None
        when there is none) and every candidate skipped on the way, with why.
    """
    skipped: List[Tuple[str, str]] = []
    candidates: List[str] = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8', errors='replace') as f:
            named = f.read().strip()
        if named and _step_of(osp.basename(named)) is not None:
            candidates.append(named)
        else:
            skipped.append((pointer, f'it names {named!r}, not a checkpoint file'))
    folders = [osp.dirname(c) for c in candidates] + [work_dir]
    kind = _step_of(osp.basename(candidates[0]))[0] if candidates else 'epoch'
    found = set()
    for folder in dict.fromkeys(osp.abspath(f) for f in folders if osp.isdir(f)):
        for name in os.listdir(folder):
            step = _step_of(name)
            if step is not None:
                found.add((step[0] != kind, -step[1], osp.join(folder, name)))
    known = {osp.abspath(c) for c in candidates}
    candidates += [p for _, _, p in sorted(found) if osp.abspath(p) not in known]
    for path in candidates:
        if not osp.isfile(path):
            skipped.append((path, 'the file does not exist'))
            continue
        try:
            ckpt = read_checkpoint(path)
        except CheckpointError as err:
            skipped.append((path, str(err)))
            continue
        if not isinstance(ckpt.get('state_dict'), dict) or 'meta' not in ckpt:
            skipped.append((path, 'it is not a training checkpoint (no state_dict and meta)'))
            continue
        return path, skipped
    return None, skipped


def check_state_dict_compatible(model: nn.Module, state: Dict[str, torch.Tensor],
                                path: str, ignore_prefixes: Tuple[str, ...] = ()) -> None:
    """Raise a clear error when ``state`` was not saved from a model like ``model``.

    Keys starting with one of ``ignore_prefixes``, or of the model's training-only modules
    (:func:`training_only_prefixes`, e.g. a ``ReIDModel``'s ``aux_heads.``), may be missing
    from the checkpoint.
    """
    own = model.state_dict()
    ignore = tuple(ignore_prefixes) + training_only_prefixes(model)
    missing = [k for k in own if k not in state and not k.startswith(ignore)]
    unexpected = [k for k in state if k not in own]
    shape = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
             for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shape:
        lines = [f'checkpoint {path} does not match the model built from the config '
                 f'({type(model).__name__}; {len(own)} tensors, checkpoint {len(state)}):']
        if shape:
            lines.append(f'  {len(shape)} shape mismatches, e.g. ' + '; '.join(shape[:3]))
        if missing:
            lines.append(f'  {len(missing)} tensors missing, e.g. ' + ', '.join(missing[:4]))
        if unexpected:
            lines.append(f'  {len(unexpected)} unexpected tensors, e.g. ' +
                         ', '.join(unexpected[:4]))
        lines.append('  Was it trained with another config (backbone, number of parts K, '
                     'number of training identities)?')
        raise RuntimeError('\n'.join(lines))


def training_only_prefixes(model: nn.Module) -> Tuple[str, ...]:
    """State-dict key prefixes of the modules ``model`` uses only for training.

    Every submodule may declare ``training_only_prefixes`` (prefixes relative to itself,
    e.g. ``('aux_heads.', )`` on the model or ``('seg_head.', )`` on a head); they are
    returned relative to ``model``. A published checkpoint leaves these tensors out, and
    loading one does not ask for them.
    """
    out: List[str] = []
    for name, module in model.named_modules():
        for prefix in getattr(module, 'training_only_prefixes', None) or ():
            out.append(f'{name}.{prefix}' if name else str(prefix))
    return tuple(dict.fromkeys(out))


def load_reid_checkpoint(model: nn.Module, path: str, strict: bool = True,
                         ignore_prefixes: Tuple[str, ...] = ()) -> Dict:
    """Load weights into ``model`` after checking they belong to it; return the meta.

    The model's training-only modules (:func:`training_only_prefixes`) may be missing from
    the checkpoint, as they are from published ones.
    """
    state, meta = load_state_dict_file(path)
    if strict:
        ignore = tuple(ignore_prefixes) + training_only_prefixes(model)
        check_state_dict_compatible(model, state, path, ignore)
    model.load_state_dict(state, strict=False)
    return meta


def save_zoo_checkpoint(model: nn.Module, path: str, meta: Optional[Dict] = None) -> None:
    """Save a model-zoo checkpoint: a plain ``state_dict`` plus JSON-able ``meta``.

    A model with an ``inference_state_dict()`` (``ReIDModel``) is saved without its
    training-only heads.
    """
    import json
    meta = dict(meta or {})
    json.dumps(meta)  # raises if meta is not JSON-able
    export = getattr(model, 'inference_state_dict', model.state_dict)
    state = OrderedDict((k, v.detach().cpu()) for k, v in export().items())
    torch.save(dict(state_dict=state, meta=meta), path)
