"""Convert torchvision-layout backbone weights to mmpretrain's key names, in memory.

Two MobileNetV2 layouts are recognised under ``features.*``: torchvision's current one
(``features.2.conv.0.0.weight``, ``conv.0.1.*``, ``conv.1.0.*``, ``conv.1.1.*``,
``conv.2.weight``, ``conv.3.*``) and the flat one of early releases
(``features.2.conv.0.weight``, ``conv.1.*``, ``conv.3.weight``, ``conv.4.*``, ...).
In both, the k-th convolution and the k-th BatchNorm of an inverted residual block
become mmpretrain's ``layer{i}.{j}.conv.{k}.conv`` and ``.conv.{k}.bn``.
torchvision's ResNet already uses mmpretrain's key names: only ``fc.*`` is dropped.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

from torch import Tensor

# blocks per stage of MobileNetV2 (mmpretrain's layer1..layer7 = torchvision features.1..17)
MOBILENET_V2_BLOCKS = (1, 2, 3, 4, 3, 3, 1)
ARCHS = ('mobilenet_v2', 'resnet')

_BN_SUFFIXES = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
_FEATURE_KEY = re.compile(r'^features\.(\d+)\.(.+)$')


def few_keys(keys: List[str], num: int = 5) -> str:
    """Show up to ``num`` keys of a list, and how many more there are."""
    shown = ', '.join(keys[:num])
    return shown + (f', ... ({len(keys) - num} more)' if len(keys) > num else '')


def detect_layout(state_dict: Dict[str, Tensor]) -> str:
    """Name the key layout of a backbone state dict.

    Returns:
        'torchvision_mobilenet_v2' (keys ``features.*``), 'torchvision_resnet'
        (ResNet keys with a ``fc.*`` classifier) or 'mmpretrain' (anything else).
    """
    keys = list(state_dict)
    if keys and any(k.startswith('features.') for k in keys):
        return 'torchvision_mobilenet_v2'
    if 'fc.weight' in state_dict and 'layer1.0.conv1.weight' in state_dict:
        return 'torchvision_resnet'
    return 'mmpretrain'


def _block_index_map() -> Dict[int, Tuple[int, int]]:
    """Map torchvision's feature index of a block to mmpretrain's (layer, block)."""
    mapping, index = {}, 1
    for layer, num_blocks in enumerate(MOBILENET_V2_BLOCKS, start=1):
        for block in range(num_blocks):
            mapping[index] = (layer, block)
            index += 1
    return mapping


def _convert_conv_bn(params: Dict[str, Tensor], target: str, source: str,
                     prefix: str) -> Dict[str, Tensor]:
    """Map a ``0.weight`` / ``1.*`` (conv, BN) pair to ``{target}.conv`` / ``{target}.bn``."""
    out = {}
    for rest, value in params.items():
        module, _, name = rest.partition('.')
        if module == '0' and name == 'weight':
            out[f'{target}.conv.weight'] = value
        elif module == '1' and name in _BN_SUFFIXES:
            out[f'{target}.bn.{name}'] = value
        else:
            raise KeyError(f'{source}: unexpected key "{prefix}{rest}" in a conv-BN pair')
    return out


def _convert_block(params: Dict[str, Tensor], target: str, source: str,
                   prefix: str) -> Dict[str, Tensor]:
    """Convert the ``conv.*`` keys of one inverted residual block (either layout)."""
    modules: Dict[Tuple[int, ...], Dict[str, Tensor]] = {}
    for rest, value in params.items():
        path, _, name = rest[len('conv.'):].rpartition('.')
        if (not rest.startswith('conv.') or not path
                or not all(p.isdigit() for p in path.split('.'))):
            raise KeyError(f'{source}: unexpected key "{prefix}{rest}" in an inverted '
                           'residual block')
        modules.setdefault(tuple(int(p) for p in path.split('.')), {})[name] = value
    convs, bns = [], []
    for path in sorted(modules):
        named = modules[path]
        if 'running_mean' in named:
            bns.append(named)
        elif set(named) == {'weight'} and named['weight'].dim() == 4:
            convs.append(named)
        else:
            raise KeyError(f'{source}: cannot tell module {prefix}conv.{path} '
                           f'({sorted(named)}) for a convolution or a BatchNorm')
    if len(convs) != len(bns) or len(convs) not in (2, 3):
        raise KeyError(f'{source}: the inverted residual block {prefix[:-1]} needs 2 or 3 '
                       f'conv-BN pairs, found {len(convs)} convolutions and {len(bns)} '
                       'BatchNorms')
    out = {}
    for k, (conv, bn) in enumerate(zip(convs, bns)):
        out[f'{target}.conv.{k}.conv.weight'] = conv['weight']
        for name, value in bn.items():
            out[f'{target}.conv.{k}.bn.{name}'] = value
    return out


def convert_mobilenet_v2(state_dict: Dict[str, Tensor],
                         source: str = 'state dict') -> 'OrderedDict[str, Tensor]':
    """Convert MobileNetV2 weights from torchvision layout to mmpretrain's ``MobileNetV2``.

    The classifier (``classifier.*``) is dropped; any other key outside ``features.*``
    raises a KeyError naming ``source`` and the offending keys.
    """
    last = sum(MOBILENET_V2_BLOCKS) + 1  # features.18: the final 1x1 conv
    blocks = _block_index_map()
    grouped: Dict[int, Dict[str, Tensor]] = {}
    unknown = []
    for key, value in state_dict.items():
        match = _FEATURE_KEY.match(key)
        if match is None:
            if not key.startswith('classifier.'):
                unknown.append(key)
            continue
        index = int(match.group(1))
        if index > last:
            unknown.append(key)
            continue
        grouped.setdefault(index, {})[match.group(2)] = value
    if unknown:
        raise KeyError(f'{source}: keys that are not MobileNetV2 features in torchvision '
                       f'layout: {few_keys(unknown)}')
    missing = [f'features.{i}' for i in range(last + 1) if i not in grouped]
    if missing:
        raise KeyError(f'{source}: MobileNetV2 weights lack {few_keys(missing)}')
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for index in range(last + 1):
        prefix = f'features.{index}.'
        if index in (0, last):
            target = 'conv1' if index == 0 else 'conv2'
            out.update(_convert_conv_bn(grouped[index], target, source, prefix))
        else:
            layer, block = blocks[index]
            out.update(_convert_block(grouped[index], f'layer{layer}.{block}', source, prefix))
    return out


def convert_resnet(state_dict: Dict[str, Tensor],
                   source: str = 'state dict') -> 'OrderedDict[str, Tensor]':
    """Convert ResNet weights from torchvision layout to mmpretrain's ``ResNet`` (drop ``fc``)."""
    allowed = re.compile(r'^(conv1\.|bn1\.|layer[1-4]\.)')
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        if key.startswith('fc.'):
            continue
        if allowed.match(key) is None:
            unknown.append(key)
        out[key] = value
    if unknown:
        raise KeyError(f'{source}: keys that are not ResNet weights in torchvision layout: '
                       f'{few_keys(unknown)}')
    return out


def torchvision_to_mmpretrain(state_dict: Dict[str, Tensor],
                              arch: str,
                              source: str = 'state dict') -> 'OrderedDict[str, Tensor]':
    """Convert a torchvision-layout state dict of ``arch`` ('mobilenet_v2' | 'resnet')."""
    if arch == 'mobilenet_v2':
        return convert_mobilenet_v2(state_dict, source)
    if arch == 'resnet':
        return convert_resnet(state_dict, source)
    raise ValueError(f'arch must be one of {ARCHS}, got {arch!r}')
