"""Key layouts of the Caffe-trained networks of the part-aligned bilinear model, in memory.

Recognised inputs (values may be tensors or numpy arrays; shapes are checked by the loader):

- **BVLC GoogLeNet**, as shared in PyTorch: Caffe layer names with ``/``
  (``conv1/7x7_s2.weight``, ``inception_3a/1x1.bias``, ``inception_4e/pool_proj.weight``,
  ...), or the release's module names (``conv1__7x7_s2.weight``,
  ``inception_3a._3x3_reduce.weight``); layers after inception_4e (``inception_5*``,
  ``loss*``) are dropped. Ours: ``conv1_7x7_s2``, ``conv2_3x3_reduce``, ``conv2_3x3``,
  ``inception_<i>.{conv_1x1, conv_3x3_reduce, conv_3x3, conv_5x5_reduce, conv_5x5,
  pool_proj}``.
- **CMU OpenPose COCO body model** converted to PyTorch: Caffe layer names
  (``conv1_1.weight`` ... ``conv4_4_CPM``, ``conv5_5_CPM_L1``, ``Mconv7_stage6_L2.bias``),
  optionally under a module prefix (``model0.conv1_1.weight``, ``module.``,
  ``part_feat_extractor.``). Ours are the Caffe names; stages 3-6 are dropped.
- **The part-aligned bilinear release** (``epoch_750.pth.tar``): ``app_state_dict``
  (GoogLeNet names + ``input_feat``, ``bn``) and ``part_state_dict`` (CPM names + ``pose1``,
  ``bn``), converted to a whole ``ReIDModel`` with a ``TwoStreamBackbone`` and a
  ``PartBilinearHead``; the count sketches the release regenerates from numpy seeds at
  start-up are added, since our checkpoints keep them.
"""
import re
from collections import OrderedDict
from typing import Callable, Dict, Iterable, List, Mapping, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .bilinear_pooling import RELEASE_SEEDS, count_sketch_matrix, sketch_hashes
from .torchvision_converter import few_keys

# BVLC GoogLeNet up to inception_4e: (name, (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj))
INCEPTION_SPECS: Tuple[Tuple[str, Tuple[int, ...]], ...] = (
    ('3a', (64, 96, 128, 16, 32, 32)),
    ('3b', (128, 128, 192, 32, 96, 64)),
    ('4a', (192, 96, 208, 16, 48, 64)),
    ('4b', (160, 112, 224, 24, 64, 64)),
    ('4c', (128, 128, 256, 24, 64, 64)),
    ('4d', (112, 144, 288, 32, 64, 64)),
    ('4e', (256, 160, 320, 32, 128, 128)),
)
INCEPTION_BRANCHES = ('1x1', '3x3_reduce', '3x3', '5x5_reduce', '5x5', 'pool_proj')
GOOGLENET_STEM = ('conv1/7x7_s2', 'conv2/3x3_reduce', 'conv2/3x3')
# Caffe layers of the BVLC GoogLeNet that the appearance stream does not use
GOOGLENET_UNUSED = re.compile(r'^(inception_5[ab]|loss[123]|pool5|prob)\b')

# OpenPose COCO trunk up to stage 2
VGG_LAYERS = ('conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'conv3_3',
              'conv3_4', 'conv4_1', 'conv4_2', 'conv4_3_CPM', 'conv4_4_CPM')
STAGE1_LAYERS = tuple(f'conv5_{i}_CPM_L{b}' for b in (1, 2) for i in range(1, 6))
STAGE2_LAYERS = tuple(f'Mconv{i}_stage2_L{b}' for b in (1, 2) for i in range(1, 8))
OPENPOSE_LAYERS = VGG_LAYERS + STAGE1_LAYERS + STAGE2_LAYERS
OPENPOSE_UNUSED = re.compile(r'^Mconv\d+_stage[3-9]_L\d$')
_PARAM = re.compile(r'^(?P<layer>.+)\.(?P<param>weight|bias|running_mean|running_var|'
                    r'num_batches_tracked)$')
_CAFFE_TOP = re.compile(r'^(?P<block>conv[12]|inception_\d[a-e])(?:/|__|\._|\.)(?P<branch>.+)$')


def googlenet_key(caffe_layer: str) -> str:
    """Our module name of a BVLC GoogLeNet Caffe layer (``'inception_3a/1x1'`` -> ...)."""
    if caffe_layer in GOOGLENET_STEM:
        return caffe_layer.replace('/', '_')
    block, _, branch = caffe_layer.partition('/')
    if branch == 'pool_proj':
        return f'{block}.pool_proj'
    return f'{block}.conv_{branch}'


OUR_GOOGLENET_LAYERS = frozenset(
    [googlenet_key(c) for c in GOOGLENET_STEM] +
    [googlenet_key(f'inception_{n}/{b}') for n, _ in INCEPTION_SPECS for b in INCEPTION_BRANCHES])


def _as_tensor(value: object, key: str, source: str) -> Tensor:
    """A tensor of a checkpoint value (numpy arrays are converted)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    raise TypeError(f'{source}: entry {key!r} is a {type(value).__name__}, expected a tensor')


def _strip_module(state: Mapping[str, object]) -> 'OrderedDict[str, object]':
    """Drop a ``module.`` (DataParallel) prefix."""
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                       for k, v in state.items())


def _unwrap(checkpoint: Mapping, stream_key: str) -> Mapping:
    """The state dict inside a checkpoint: ``<stream_key>``, ``state_dict`` or ``model``."""
    for wrapper in (stream_key, 'state_dict', 'model'):
        if isinstance(checkpoint.get(wrapper), Mapping):
            return checkpoint[wrapper]
    return checkpoint


_UNKNOWN = object()


def _convert_layers(checkpoint: Mapping, stream_key: str, source: str,
                    rename: Callable[[str], object], what: str) -> 'OrderedDict[str, Tensor]':
    """Rename the layers of a state dict: ``rename(layer)`` gives our layer name, None to
    drop it, or ``_UNKNOWN``; unknown keys raise a KeyError naming ``source`` and them."""
    state = _strip_module(_unwrap(checkpoint, stream_key))
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    unknown: List[str] = []
    for key, value in state.items():
        match = _PARAM.match(key)
        name = rename(match.group('layer')) if match else _UNKNOWN
        if name is _UNKNOWN:
            unknown.append(key)
        elif name is not None:
            out[f'{name}.{match.group("param")}'] = _as_tensor(value, key, source)
    if unknown:
        raise KeyError(f'{source}: keys that are not {what}: {few_keys(unknown)}')
    return out


def convert_googlenet(checkpoint: Mapping, source: str = 'state dict',
                      keep: Iterable[str] = ()) -> 'OrderedDict[str, Tensor]':
    """BVLC GoogLeNet weights (Caffe or release names) -> ``GoogLeNetBVLC`` keys.

    Args:
        checkpoint: a state dict, or a checkpoint holding one under ``app_state_dict``
            (the release), ``state_dict`` or ``model``.
        source: the file, named in error messages.
        keep: other layer names to pass through unchanged (the release's ``input_feat``
            and ``bn`` when converting a whole release model).

    Raises:
        KeyError naming ``source`` and the keys that belong to no GoogLeNet layer.
    """
    keep = tuple(keep)

    def rename(layer: str) -> object:
        for prefix in ('app_feat_extractor.', 'backbone.'):
            if layer.startswith(prefix):
                layer = layer[len(prefix):]
        if layer.split('.')[0] in keep or layer in OUR_GOOGLENET_LAYERS:
            return layer
        if GOOGLENET_UNUSED.match(layer):
            return None
        top = _CAFFE_TOP.match(layer)
        caffe = f'{top.group("block")}/{top.group("branch").lstrip("_")}' if top else ''
        if caffe in GOOGLENET_STEM or caffe.partition('/')[2] in INCEPTION_BRANCHES:
            return googlenet_key(caffe)
        return _UNKNOWN

    return _convert_layers(checkpoint, 'app_state_dict', source, rename,
                           'BVLC GoogLeNet layers (Caffe names such as "conv1/7x7_s2.weight", '
                           '"inception_3a/1x1.bias")')


def convert_openpose(checkpoint: Mapping, source: str = 'state dict',
                     keep: Iterable[str] = ()) -> 'OrderedDict[str, Tensor]':
    """CMU OpenPose COCO body weights (Caffe layer names) -> ``OpenPoseTrunk`` keys.

    A module prefix before the Caffe layer name (``model0.``, ``part_feat_extractor.``) is
    dropped; so are the layers of stages 3-6. ``checkpoint`` may hold the state dict under
    ``part_state_dict`` (the release), ``state_dict`` or ``model``; ``keep`` names other
    layers to pass through (the release's ``pose1``, ``bn``).

    Raises:
        KeyError naming ``source`` and the keys that belong to no OpenPose layer.
    """
    known = set(OPENPOSE_LAYERS) | set(keep)

    def rename(path: str) -> object:
        layer = path.split('.')[-1]
        if layer in known:
            return layer
        return None if OPENPOSE_UNUSED.match(layer) else _UNKNOWN

    return _convert_layers(checkpoint, 'part_state_dict', source, rename,
                           'layers of the OpenPose COCO body model (Caffe names such as '
                           '"conv1_1.weight", "Mconv7_stage2_L2.bias")')


def release_to_mmreidparts(checkpoint: Mapping,
                           sketch_dim: int = 512,
                           seeds: Sequence[int] = RELEASE_SEEDS,
                           source: str = 'checkpoint') -> 'OrderedDict[str, Tensor]':
    """The release's ``{app_state_dict, part_state_dict}`` -> a ``ReIDModel`` state dict.

    Keys: ``backbone.appearance.*`` (GoogLeNet), ``backbone.part.*`` (OpenPose trunk),
    ``head.app_embed.{conv,bn}.*`` (``input_feat``, ``bn`` of the appearance stream),
    ``head.part_embed.{conv,bn}.*`` (``pose1``, ``bn`` of the part stream) and
    ``head.pooling.sketch_a`` ``[cA, d]`` / ``sketch_p`` ``[cP, d]``, regenerated with the
    release's numpy seeds for ``sketch_dim`` d (the release's ``--features``).
    """
    missing = [k for k in ('app_state_dict', 'part_state_dict')
               if not isinstance(checkpoint.get(k), Mapping)]
    if missing:
        raise KeyError(f'{source}: not a part-aligned bilinear release checkpoint: it lacks '
                       f'{missing} (found {sorted(checkpoint)[:6]})')
    app = convert_googlenet(checkpoint['app_state_dict'], f'{source} (app_state_dict)',
                            keep=('input_feat', 'bn'))
    part = convert_openpose(checkpoint['part_state_dict'], f'{source} (part_state_dict)',
                            keep=('pose1', 'bn'))
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    heads = {'input_feat': 'head.app_embed.conv', 'pose1': 'head.part_embed.conv'}
    for stream, state, embed in (('appearance', app, 'head.app_embed'),
                                 ('part', part, 'head.part_embed')):
        for key, value in state.items():
            layer, _, param = key.partition('.')
            if layer in heads:
                out[f'{heads[layer]}.{param}'] = value
            elif layer == 'bn':
                out[f'{embed}.bn.{param}'] = value
            else:
                out[f'backbone.{stream}.{key}'] = value
    for embed in ('head.app_embed.bn', 'head.part_embed.bn'):
        if f'{embed}.running_mean' in out:  # torch 0.4 BatchNorm kept no counter
            out.setdefault(f'{embed}.num_batches_tracked', torch.tensor(0, dtype=torch.long))
    for name in ('head.app_embed.conv.weight', 'head.part_embed.conv.weight'):
        if name not in out:
            raise KeyError(f'{source}: the release checkpoint has no '
                           f'{"input_feat" if "app" in name else "pose1"}.weight')
    dims = (out['head.app_embed.conv.weight'].shape[0],
            out['head.part_embed.conv.weight'].shape[0])
    for name, dim, (h_seed, s_seed) in (('sketch_a', dims[0], seeds[:2]),
                                        ('sketch_p', dims[1], seeds[2:])):
        hashes, signs = sketch_hashes(dim, sketch_dim, h_seed, s_seed)
        out[f'head.pooling.{name}'] = count_sketch_matrix(hashes, signs, sketch_dim)
    return out


def state_summary(state: Mapping[str, Tensor]) -> Dict[str, int]:
    """Tensors per top-level module of a converted state dict (for reports)."""
    counts: Dict[str, int] = {}
    for key in state:
        top = '.'.join(key.split('.')[:2])
        counts[top] = counts.get(top, 0) + 1
    return counts


__all__ = ['INCEPTION_SPECS', 'INCEPTION_BRANCHES', 'OPENPOSE_LAYERS', 'googlenet_key',
           'convert_googlenet', 'convert_openpose', 'release_to_mmreidparts', 'state_summary']
