"""Convert a released BPBreID (HRNet-W32) checkpoint into an mmreidparts checkpoint.

    python tools/model_converters/bpbreid_to_mmreidparts.py IN.pth OUT.pth [--part-scheme S]

The release is a ``torch.save`` dict with ``state_dict`` (keys prefixed ``module.``), the
training ``config`` (a pickled yacs ``CfgNode``), ``optimizer``, ``scheduler`` and scores.
It is read by a restricted unpickler that never runs code from the file: only tensor
rebuilding, ``OrderedDict``, numpy scalars/arrays and the ``yacs.config.CfgNode`` class (the
real one when yacs is installed, a plain ``dict`` subclass otherwise) may be referenced.
(``torch.load(weights_only=True)`` cannot be used: it refuses to fill a ``dict`` subclass
such as ``CfgNode`` even when the class is allow-listed.)

The output holds a plain ``state_dict`` for ``ReIDModel(backbone=HRNetFused,
head=BPBreIDHead)`` and a JSON-able ``meta``: K, the part scheme, the sizes, the source and
the head options that reproduce the release's test behaviour.
"""
import argparse
import json
import os
import os.path as osp
import pickle
import re
import sys
import types
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from mmreidparts.structures import get_part_scheme
from mmreidparts.zoo.releases import check_release

try:  # numpy >= 2 (numpy 1.26 also has it, for pickles written by numpy 2)
    from numpy._core import multiarray as np_multiarray
except ImportError:  # pragma: no cover - older numpy
    from numpy.core import multiarray as np_multiarray

BACKBONE = 'backbone_appearance_feature_extractor.'
# release module prefix -> our module prefix (None: dropped)
HEAD_RULES: Tuple[Tuple[str, Optional[str]], ...] = (
    ('pixel_classifier.bn.', 'head.pixel_classifier.bn.'),
    ('pixel_classifier.classifier.', 'head.pixel_classifier.conv.'),
    ('global_after_pooling_dim_reduce.layers.', 'head.global_reduce.'),
    ('foreground_after_pooling_dim_reduce.layers.', 'head.foreground_reduce.'),
    ('parts_after_pooling_dim_reduce.layers.', 'head.parts_reduce.'),
    ('background_after_pooling_dim_reduce.', None),
    ('global_identity_classifier.bn.', 'head.global_bnneck.bn.'),
    ('global_identity_classifier.classifier.', 'head.global_bnneck.fc.'),
    ('foreground_identity_classifier.bn.', 'head.foreground_bnneck.bn.'),
    ('foreground_identity_classifier.classifier.', 'head.foreground_bnneck.fc.'),
    ('concat_parts_identity_classifier.bn.', 'head.concat_bnneck.bn.'),
    ('concat_parts_identity_classifier.classifier.', 'head.concat_bnneck.fc.'),
    ('background_identity_classifier.', None),
)
# HRNet classification parts BPBreID does not use
BACKBONE_DROPPED = ('cls_head.', 'downsamp_modules.', 'final_layer.', 'classifier.')
PART_CLASSIFIER = re.compile(r'^parts_identity_classifier\.(\d+)\.(bn|classifier)\.(.+)$')
# the release's ``model.bpbreid.masks.preprocess`` names whose grouping is a registered scheme
PREPROCESS_TO_SCHEME = {'eight': 'bpbreid8', 'five_v': 'bpbreid5v'}
# test-time behaviour of the release (bpbreid.md sections 2.3, 2.4, 4)
RELEASE_HEAD_OPTIONS = dict(fg_pooling='masked_gap', visibility_mode='argmax',
                            test_foreground='bn', test_normalize=True)


class PlainCfgNode(dict):
    """Stand-in for yacs' ``CfgNode`` when yacs is not installed: a plain nested dict."""


def _cfg_node_class() -> type:
    """yacs' ``CfgNode`` if yacs can be imported, else :class:`PlainCfgNode`."""
    try:
        from yacs.config import CfgNode
    except ImportError:
        return PlainCfgNode
    return CfgNode


def _latin1_encode(text: str, encoding: str = 'latin1') -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes (latin-1 only)."""
    if encoding not in ('latin1', 'latin-1'):
        raise pickle.UnpicklingError(f'refuses _codecs.encode with encoding {encoding!r}')
    return text.encode('latin1')


def _allowed_globals() -> Dict[Tuple[str, str], Any]:
    """The only globals a release checkpoint may reference (besides torch storages)."""
    allowed: Dict[Tuple[str, str], Any] = {
        ('collections', 'OrderedDict'): OrderedDict,
        ('torch', 'Size'): torch.Size,
        ('torch', 'device'): torch.device,
        ('builtins', 'set'): set,
        ('builtins', 'frozenset'): frozenset,
        ('_codecs', 'encode'): _latin1_encode,
        ('yacs.config', 'CfgNode'): _cfg_node_class(),
        ('numpy', 'dtype'): np.dtype,
        ('numpy', 'ndarray'): np.ndarray,
    }
    for name in ('_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_parameter',
                 '_rebuild_parameter_with_state'):
        allowed[('torch._utils', name)] = getattr(torch._utils, name)
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed[(module, 'scalar')] = np_multiarray.scalar
        allowed[(module, '_reconstruct')] = np_multiarray._reconstruct
    for name in dir(np.dtypes):
        if name.endswith('DType'):
            allowed[('numpy.dtypes', name)] = getattr(np.dtypes, name)
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only allow-listed globals and refuses every other one."""

    source = 'checkpoint'

    def find_class(self, module: str, name: str) -> Any:
        """Return an allow-listed global or raise an UnpicklingError naming it."""
        allowed = _allowed_globals()
        if (module, name) in allowed:
            return allowed[(module, name)]
        if module == 'torch' and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        raise pickle.UnpicklingError(
            f'{self.source}: refuses to load the global {module}.{name}: a BPBreID release '
            'checkpoint may reference only tensors, OrderedDict, numpy scalars/arrays and '
            'yacs.config.CfgNode; this file may not be a BPBreID checkpoint, or it may run '
            'code when unpickled')


def _restricted_pickle_module(source: str) -> types.ModuleType:
    """A module with the ``Unpickler`` / ``load`` pair ``torch.load`` expects."""

    class _Unpickler(RestrictedUnpickler):
        pass

    _Unpickler.source = source
    module = types.ModuleType('restricted_pickle')
    module.Unpickler = _Unpickler
    module.load = lambda file, **kwargs: _Unpickler(file, **kwargs).load()
    module.__name__ = 'restricted_pickle'
    return module


def load_bpbreid_checkpoint(path: str) -> Dict[str, Any]:
    """Read a release checkpoint without running code from it (see the module docstring)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'BPBreID checkpoint not found: {path}')
    try:
        # weights_only=False only because a custom restricted unpickler is given
        ckpt = torch.load(path, map_location='cpu', weights_only=False,
                          pickle_module=_restricted_pickle_module(path))
    except pickle.UnpicklingError as err:
        raise ValueError(str(err)) from err
    if not isinstance(ckpt, dict):
        raise TypeError(f'{path}: expected a dict checkpoint, got {type(ckpt).__name__}')
    return ckpt


def _few(keys: Sequence[str], num: int = 5) -> str:
    """Up to ``num`` keys and how many more there are."""
    return ', '.join(keys[:num]) + (f', ... ({len(keys) - num} more)' if len(keys) > num else '')


def release_state_dict(ckpt: Dict[str, Any], source: str) -> 'OrderedDict[str, Tensor]':
    """The model weights of a release checkpoint, without the ``module.`` prefix."""
    state = ckpt.get('state_dict', ckpt)
    if not isinstance(state, dict) or not state:
        raise KeyError(f'{source}: no "state_dict" with the model weights')
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key, value in state.items():
        if not isinstance(value, Tensor):
            raise TypeError(f'{source}: state_dict entry {key} is not a tensor')
        out[key[len('module.'):] if key.startswith('module.') else key] = value
    return out


def num_parts_of(state: Dict[str, Tensor], source: str = 'checkpoint') -> int:
    """K, read from the pixel classifier's ``[K+1, C, 1, 1]`` weight."""
    key = 'pixel_classifier.classifier.weight'
    if key not in state:
        raise KeyError(f'{source}: no "{key}" (or "module.{key}"); is this a BPBreID '
                       'checkpoint?')
    return int(state[key].shape[0]) - 1


def convert_state_dict(state: Dict[str, Tensor],
                       keep_part_classifiers: bool = False,
                       source: str = 'checkpoint') -> 'OrderedDict[str, Tensor]':
    """Rename the release's keys (``module.`` already stripped) to ReIDModel's.

    The HRNet keys keep their names under ``backbone.`` (``incre_modules`` become
    ``increase_layers``); the HRNet classifier's other layers, the background branch and
    (unless ``keep_part_classifiers``) the per-part identity classifiers are dropped. Any
    key that is not recognised raises a KeyError listing it.
    """
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    unknown: List[str] = []
    for key, value in state.items():
        if key.startswith(BACKBONE):
            rest = key[len(BACKBONE):]
            if rest.startswith(BACKBONE_DROPPED):
                continue
            if rest.startswith('incre_modules.'):
                rest = 'increase_layers.' + rest[len('incre_modules.'):]
            out['backbone.' + rest] = value
            continue
        match = PART_CLASSIFIER.match(key)
        if match is not None:
            if keep_part_classifiers:
                layer = 'bn' if match.group(2) == 'bn' else 'fc'
                out[f'head.parts_bnnecks.{match.group(1)}.{layer}.{match.group(3)}'] = value
            continue
        for old, new in HEAD_RULES:
            if key.startswith(old):
                if new is not None:
                    out[new + key[len(old):]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(f'{source}: keys this converter does not know ({len(unknown)}): '
                       f'{_few(unknown)}')
    return out


def _cfg_get(cfg: Any, path: str) -> Any:
    """``cfg.a.b.c`` of a nested dict config, or None when a level is missing."""
    node = cfg
    for part in path.split('.'):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _jsonable(value: Any) -> Any:
    """A number or string for the meta (numpy / tensor scalars become Python numbers)."""
    if isinstance(value, (np.generic, Tensor)):
        value = value.item()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def convert(in_path: str,
            out_path: str,
            part_scheme: Optional[str] = None,
            keep_part_classifiers: bool = False) -> Dict[str, Any]:
    """Convert ``in_path`` to ``out_path`` and return the meta written with the weights."""
    ckpt = load_bpbreid_checkpoint(in_path)
    check_release(ckpt, 'BPBreID', in_path)
    state = release_state_dict(ckpt, in_path)
    num_parts = num_parts_of(state, in_path)
    config = ckpt.get('config')
    cfg_parts = _cfg_get(config, 'model.bpbreid.masks.parts_num')
    if cfg_parts is not None and int(cfg_parts) != num_parts:
        raise ValueError(f'{in_path}: the pixel classifier has K={num_parts} parts but the '
                         f'config says model.bpbreid.masks.parts_num={cfg_parts}')
    preprocess = _cfg_get(config, 'model.bpbreid.masks.preprocess')
    if part_scheme is None:
        part_scheme = PREPROCESS_TO_SCHEME.get(preprocess)
        if part_scheme is None:
            raise ValueError(
                f'{in_path}: cannot tell the part scheme of this checkpoint (K={num_parts}, '
                f'config model.bpbreid.masks.preprocess={preprocess!r}); pass --part-scheme '
                'with a registered scheme of K parts in the grouping of the release')
    scheme = get_part_scheme(part_scheme)
    if scheme.num_parts != num_parts:
        raise ValueError(f'{in_path}: has K={num_parts} parts, but part scheme '
                         f'{part_scheme!r} has {scheme.num_parts}')
    converted = convert_state_dict(state, keep_part_classifiers, in_path)
    fg_fc = converted.get('head.foreground_bnneck.fc.weight')
    meta = dict(
        source=osp.basename(in_path),
        converter='bpbreid_to_mmreidparts',
        num_parts=num_parts,
        part_scheme=part_scheme,
        part_names=list(scheme.names),
        release_preprocess=_jsonable(preprocess),
        in_channels=int(state['pixel_classifier.classifier.weight'].shape[1]),
        embed_dim=int(fg_fc.shape[1]) if fg_fc is not None else None,
        num_classes=int(fg_fc.shape[0]) if fg_fc is not None else None,
        epoch=_jsonable(ckpt.get('epoch')),
        rank1=_jsonable(ckpt.get('rank1')),
        mAP=_jsonable(ckpt.get('mAP')),
        release_head_options=dict(RELEASE_HEAD_OPTIONS),
    )
    json.dumps(meta)  # the meta must stay JSON-able
    out_dir = osp.dirname(osp.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(dict(state_dict=converted, meta=meta), out_path)
    return meta


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='released BPBreID checkpoint (.pth)')
    parser.add_argument('dst', help='output mmreidparts checkpoint (.pth)')
    parser.add_argument('--part-scheme', default=None,
                        help='part scheme of the checkpoint (default: from its config)')
    parser.add_argument('--keep-part-classifiers', action='store_true',
                        help='keep the per-part identity classifiers (unused by GiLt)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the conversion and print its meta."""
    args = parse_args(argv)
    meta = convert(args.src, args.dst, args.part_scheme, args.keep_part_classifiers)
    print(json.dumps(meta, indent=2))
    print(f'saved {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
