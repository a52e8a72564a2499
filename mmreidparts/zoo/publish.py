"""Publishing: a training (or converted) checkpoint becomes a model-zoo file.

The file holds a plain ``state_dict`` and a JSON-able ``meta`` only (it loads with
``torch.load(weights_only=True)``); its name carries the first 8 hex digits of its SHA-256
(``<name>-1a2b3c4d.pth``). Optimizer, schedulers and message hub are left out, and so are
the model's training-only modules (``training_only_prefixes`` of the model and its
submodules, e.g. ``aux_heads.``) and any other prefix asked for.
"""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, Optional, Sequence

import torch
from torch import nn

from mmreidparts.utils.checkpoint import (
    check_state_dict_compatible,
    load_state_dict_file,
    training_only_prefixes,
)
from mmreidparts.version import __version__

from .download import sha256_of

# what a training checkpoint's meta keeps (mmengine also stores e.g. the environment)
TRAINING_META_KEYS = ('epoch', 'iter', 'dataset_meta', 'cfg', 'seed', 'experiment_name')


def jsonable(value: Any) -> Any:
    """``value`` if it survives ``json.dumps``, else its string form."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def publish_checkpoint(src: str,
                       out_dir: str,
                       name: str,
                       model: Optional[nn.Module] = None,
                       drop_prefixes: Sequence[str] = (),
                       meta: Optional[Dict[str, Any]] = None,
                       keep_meta: Optional[Sequence[str]] = TRAINING_META_KEYS) -> dict:
    """Write the zoo file of checkpoint ``src`` into ``out_dir``; return its record.

    Args:
        src: a training checkpoint, a converted checkpoint or a bare state dict (read with
            ``weights_only=True``).
        out_dir: folder of the output (created).
        name: the zoo name; the file is ``<name>-<sha256[:8]>.pth``.
        model: the model the weights are for (built from the entry's config); its
            training-only modules are dropped, and the rest of the weights must match it.
        drop_prefixes: further key prefixes to drop.
        meta: entries added to the output's meta (JSON-able).
        keep_meta: keys of the source's meta that are kept (None: every key).

    Returns:
        ``dict(path, file, sha256, size, num_tensors, dropped)``; ``dropped`` counts the
        tensors left out per prefix.
    """
    state, src_meta = load_state_dict_file(src)
    prefixes = tuple(drop_prefixes) + (training_only_prefixes(model) if model is not None
                                       else ())
    kept: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    dropped: Dict[str, int] = {p: 0 for p in prefixes}
    for key, value in state.items():
        match = next((p for p in prefixes if key.startswith(p)), None)
        if match is None:
            kept[key] = value.detach().cpu().contiguous()
        else:
            dropped[match] += 1
    if model is not None:
        check_state_dict_compatible(model, kept, src, ignore_prefixes=prefixes)
    keys = src_meta.keys() if keep_meta is None else [k for k in keep_meta if k in src_meta]
    out_meta = {k: jsonable(src_meta[k]) for k in keys}
    out_meta.update(mmreidparts_version=__version__, dropped_prefixes=dropped)
    out_meta.update(meta or {})
    json.dumps(out_meta)  # raises if an added entry is not JSON-able
    os.makedirs(out_dir, exist_ok=True)
    tmp = osp.join(out_dir, f'.{name}.pth.tmp')
    try:
        torch.save(dict(state_dict=kept, meta=out_meta), tmp)
        digest = sha256_of(tmp)
        file = f'{name}-{digest[:8]}.pth'
        final = osp.join(out_dir, file)
        os.replace(tmp, final)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return dict(path=final, file=file, sha256=digest, size=osp.getsize(final),
                num_tensors=len(kept), dropped=dropped)
