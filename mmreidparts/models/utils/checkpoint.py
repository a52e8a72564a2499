"""Safe loading of backbone weights: ``weights_only`` unpickling, layout checks, clear errors.

Checkpoints are untrusted input, so they are always read with
``torch.load(..., weights_only=True)``. A state dict may be a plain dict of tensors, or be
wrapped under ``state_dict`` / ``model``; a classifier checkpoint's ``backbone.*`` keys are
used when present (OpenMMLab ImageNet checkpoints), and torchvision layouts are converted.
"""
import os
import pickle
from collections import OrderedDict
from typing import Callable, Dict, Mapping, Optional, Union

import torch
from torch import Tensor, nn

from mmreidparts.utils.checkpoint import read_checkpoint
from mmreidparts.utils.errors import CheckpointError

from .torchvision_converter import detect_layout, few_keys, torchvision_to_mmpretrain

PathOrUrl = Union[str, os.PathLike]


def _is_url(source: str) -> bool:
    """Whether ``source`` is an http(s) address."""
    return source.startswith(('http://', 'https://'))


def load_checkpoint_file(source: PathOrUrl, map_location: str = 'cpu') -> Mapping:
    """Read a checkpoint from a local file or an http(s) URL with ``weights_only=True``."""
    source = os.fspath(source)
    if not _is_url(source):
        return read_checkpoint(source, map_location)
    try:
        return torch.hub.load_state_dict_from_url(
            source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f'{source}: cannot be read with weights_only=True; a checkpoint must hold only '
            f'tensors and plain Python containers (a plain state_dict): {err}') from err


def extract_state_dict(checkpoint: Mapping,
                       source: str = 'checkpoint',
                       prefix: Optional[str] = None) -> 'OrderedDict[str, Tensor]':
    """Get the backbone's tensors out of a loaded checkpoint.

    Args:
        checkpoint: the loaded object (a state dict, or a dict with ``state_dict`` or
            ``model``).
        source: the file or URL, named in error messages.
        prefix: keep only the keys that start with it, without it (e.g. ``'backbone.'``).
            When None and some keys start with ``backbone.``, those are used.
    """
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f'{source}: expected a dict of tensors, got {type(checkpoint).__name__}')
    state = checkpoint
    for wrapper in ('state_dict', 'model'):
        if isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
            break
    state = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                        for k, v in state.items())
    if prefix is None and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    if prefix:
        state = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                            if k.startswith(prefix))
        if not state:
            raise KeyError(f'{source}: no key starts with the prefix "{prefix}"')
    not_tensors = [k for k, v in state.items() if not isinstance(v, Tensor)]
    if not_tensors:
        raise TypeError(f'{source}: entries that are not tensors: {few_keys(not_tensors)}')
    return state


def check_state_dict_matches(module: nn.Module, state: Mapping[str, Tensor],
                             source: str) -> None:
    """Raise a KeyError naming ``source`` and a few keys if ``state`` does not fit ``module``.

    Only ``num_batches_tracked`` counters, and the layers the module declares new (its
    ``new_layer_prefixes``, e.g. non-local blocks added to an ImageNet network), may be
    absent from the checkpoint.
    """
    own = module.state_dict()
    new_layers = tuple(getattr(module, 'new_layer_prefixes', ()))
    missing = [k for k in own if k not in state and not k.endswith('num_batches_tracked')
               and not (new_layers and k.startswith(new_layers))]
    unexpected = [k for k in state if k not in own]
    mismatched = [f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}'
                  for k, v in state.items() if k in own and v.shape != own[k].shape]
    problems = []
    if missing:
        problems.append(f'missing keys ({len(missing)}): {few_keys(missing)}')
    if unexpected:
        problems.append(f'unexpected keys ({len(unexpected)}): {few_keys(unexpected)}')
    if mismatched:
        problems.append(f'shape mismatches, checkpoint vs model ({len(mismatched)}): '
                        f'{few_keys(mismatched)}')
    if problems:
        raise KeyError(f'{source}: the weights do not fit {type(module).__name__}: ' +
                       '; '.join(problems))


def load_backbone_weights(module: nn.Module,
                          source: PathOrUrl,
                          arch: Optional[str] = None,
                          prefix: Optional[str] = None) -> Dict[str, Tensor]:
    """Load every weight of ``module`` from a file or URL, converting torchvision layouts.

    Args:
        module: the backbone.
        source: local path or http(s) URL of the checkpoint.
        arch: 'mobilenet_v2' or 'resnet' to accept torchvision's layout of that network.
        prefix: the key prefix of the backbone in the checkpoint (see
            :func:`extract_state_dict`).

    Returns:
        The state dict that was loaded (mmpretrain layout).
    """
    source = os.fspath(source)
    state = extract_state_dict(load_checkpoint_file(source), source, prefix)
    layout = detect_layout(state)
    if layout != 'mmpretrain':
        wanted = layout[len('torchvision_'):]
        if arch != wanted:
            raise KeyError(f'{source}: holds {wanted} weights in torchvision layout, but '
                           f'{type(module).__name__} expects {arch or "mmpretrain"} weights')
        state = torchvision_to_mmpretrain(state, wanted, source)
    state = drop_removed_layers(module, state)
    check_state_dict_matches(module, state, source)
    module.load_state_dict(state, strict=False)
    return state


def drop_removed_layers(module: nn.Module,
                        state: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """``state`` without the keys of the layers ``module`` removed (``dropped_layer_prefixes``).

    A backbone truncated after some stage (e.g. a MobileNetV2 used as a light trunk) still
    loads the checkpoint of the whole network; only its own layers are checked.
    """
    dropped = tuple(getattr(module, 'dropped_layer_prefixes', ()))
    return OrderedDict((k, v) for k, v in state.items()
                       if not (dropped and k.startswith(dropped)))


def load_converted_weights(module: nn.Module, source: PathOrUrl,
                           convert: Callable[[Mapping, str], Mapping[str, Tensor]]
                           ) -> Dict[str, Tensor]:
    """Load every weight of ``module`` from a file whose keys ``convert`` maps to its own.

    The file is read with ``weights_only=True`` (numpy arrays, which some converted Caffe
    models hold, are allowed as data); ``convert(checkpoint, source)`` returns the state
    dict in the module's layout (raising a KeyError naming the keys it does not know), and
    the result must fit the module exactly (:func:`check_state_dict_matches`).
    """
    from mmreidparts.utils.checkpoint import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()
    source = os.fspath(source)
    checkpoint = load_checkpoint_file(source)
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f'{source}: expected a dict of tensors, got '
                        f'{type(checkpoint).__name__}')
    state = drop_removed_layers(module, convert(checkpoint, source))
    check_state_dict_matches(module, state, source)
    module.load_state_dict(state, strict=False)
    return dict(state)


def pretrained_source(init_cfg: object) -> Optional[dict]:
    """Return the ``Pretrained`` entry of an ``init_cfg`` (a dict or a list of dicts), if any."""
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    for cfg in cfgs:
        if isinstance(cfg, Mapping) and cfg.get('type') == 'Pretrained':
            if not cfg.get('checkpoint'):
                raise KeyError(f'init_cfg {dict(cfg)} of type Pretrained needs a "checkpoint"')
            return dict(cfg)
    return None
