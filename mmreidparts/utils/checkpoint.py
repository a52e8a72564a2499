"""Safe checkpoint loading.

Checkpoints are untrusted input: they are always read with ``torch.load(...,
weights_only=True)``. Training checkpoints are written by mmengine with their message
hub turned into plain data (:class:`mmreidparts.engine.hooks.PlainCheckpointHook`);
what else they hold besides tensors (numpy arrays and scalars in ``meta``, the
``Counter`` of ``MultiStepLR``'s milestones) are data-only classes that
:func:`register_checkpoint_safe_globals` allow-lists, so that ``resume`` and
``load_from`` work without switching the safety off.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn


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


def register_checkpoint_safe_globals() -> None:
    """Allow-list the data classes of mmengine training checkpoints for weights_only loading."""
    global _REGISTERED
    if _REGISTERED or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    from collections import Counter
    torch.serialization.add_safe_globals([Counter] + _numpy_globals())
    _REGISTERED = True


def load_state_dict_file(path: str, map_location: str = 'cpu') -> Tuple[Dict, Dict]:
    """Read a checkpoint file safely; return ``(state_dict, meta)``.

    Accepts mmengine checkpoints (``state_dict`` + ``meta``), model-zoo checkpoints
    (same keys, meta JSON-able) and bare state dicts.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    register_checkpoint_safe_globals()
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - re-raised with the file name
        text = str(e)
        reason = next((ln.strip() for ln in text.splitlines() if 'Unsupported global' in ln),
                      text.splitlines()[0] if text else type(e).__name__)
        raise RuntimeError(
            f'cannot read checkpoint {path}: {reason}. Checkpoints are loaded with '
            'weights_only=True, so a file that needs other pickled objects than tensors and '
            'plain data is refused; save a plain state_dict (e.g. with '
            'mmreidparts.utils.save_zoo_checkpoint) from a trusted environment.') from e
    if not isinstance(ckpt, dict):
        raise RuntimeError(f'checkpoint {path} holds a {type(ckpt).__name__}, expected a dict')
    if 'state_dict' in ckpt:
        state, meta = ckpt['state_dict'], ckpt.get('meta', {}) or {}
    else:
        state, meta = ckpt, {}
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise RuntimeError(f'checkpoint {path}: the state dict holds non-tensor values')
    state = OrderedDict((k[7:] if k.startswith('module.') else k, v) for k, v in state.items())
    return state, meta


def check_state_dict_compatible(model: nn.Module, state: Dict[str, torch.Tensor],
                                path: str, ignore_prefixes: Tuple[str, ...] = ()) -> None:
    """Raise a clear error when ``state`` was not saved from a model like ``model``.

    Keys starting with one of ``ignore_prefixes`` (e.g. training-only heads) may be
    missing from the checkpoint.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.startswith(ignore_prefixes)]
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
    """Save a model-zoo checkpoint: a plain ``state_dict`` plus JSON-able ``meta``."""
    import json
    meta = dict(meta or {})
    json.dumps(meta)  # raises if meta is not JSON-able
    state = OrderedDict((k, v.detach().cpu()) for k, v in model.state_dict().items())
    torch.save(dict(state_dict=state, meta=meta), path)
