"""Convert released weights of part awareness learning into mmreidparts checkpoints.

    python tools/model_converters/pal_to_mmreidparts.py IN.pth OUT.pth \
        [--variant globalpool|pcb|mgn|mgn_ps] [--keep-ps-head]

Two releases hold these models (their key layouts are facts of the releases):

- EANet's GlobalPool and PCB models (``ckpt.pth``, saved from Python 2.7 / PyTorch 1.0):
  ``{'state_dicts': {'model': sd, ...}, 'epoch', 'score'}`` with ``backbone.{conv1, bn1,
  layer1-4}.*`` (torchvision ResNet-50, last stride 1), ``em_list.<i>.{0 Linear, 1 BN}.*``,
  ``cls_list.<i>.{weight, bias}`` and, for the PS models, ``ps_head.{deconv.weight, bn.*,
  conv.*}``. One part is GlobalPool, six are PCB (EANet's part-aligned pooling models, 9
  parts, are refused; its 6-part PAP_6P cannot be told from PCB by its weights).
- PAL-MGN's MSMT17 models MGN and MGN+PS (``model_weight.pth``, a plain state dict):
  ``backbone.{0, 1, 4, 5, 6}`` (conv1, bn1, layer1, layer2, layer3[0]), ``p<b>.0.<i>``
  (layer3[1 + i]) and ``p<b>.1.<i>`` (layer4, stride 1) for branches b = 1..3,
  ``reduction_<k>.{0 conv 1x1 without bias, 1 BN}`` (k = 0..2: global, 3..7: stripes),
  ``embedding_<b>.0`` (FC256 of the global features), ``fc_id_2048_<j>_tmp`` +
  ``add_part_<b>.0`` (the global classifiers' Em2048), ``fc_id_2048_<j>``,
  ``fc_id_256_1_<s>``, ``fc_id_256_2_<s>`` and, for MGN+PS, ``ps_head.*``.

The file is read with ``torch.load(weights_only=True)`` (latin-1 strings for Python 2
pickles), so nothing in it is executed. The output is a plain ``state_dict`` for the
matching ``configs/pal`` model and a JSON-able ``meta`` that names the config and the
``--cfg-options`` reproducing the release's layout. The PS head is dropped (as from every
published checkpoint) unless ``--keep-ps-head`` maps it to ``aux_heads.ps_head.*``.
"""
import argparse
import json
import os
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence

import torch
from torch import Tensor

from mmreidparts.models.utils.checkpoint import extract_state_dict
from mmreidparts.models.utils.torchvision_converter import few_keys
from mmreidparts.utils import read_checkpoint

VARIANTS = ('globalpool', 'pcb', 'mgn', 'mgn_ps')
EANET_PARTS = dict(globalpool=1, pcb=6)
PS_KEY = 'ps_head.deconv.weight'
MGN_KEY = 'p1.0.0.conv1.weight'
EANET_KEY = 'em_list.0.0.weight'
PS_RULES = (('ps_head.deconv.', 'aux_heads.ps_head.hidden.0.conv.'),
            ('ps_head.bn.', 'aux_heads.ps_head.hidden.0.bn.'),
            ('ps_head.conv.', 'aux_heads.ps_head.classifier.'))
MGN_BACKBONE = {'0': 'conv1', '1': 'bn1', '4': 'layer1', '5': 'layer2', '6': 'layer3.0'}
MGN_RELEASE_OPTIONS = dict(global_embedding='em_fc', global_classifier='separate',
                           global_cls_dim=2048)


def model_state(ckpt: Any, source: str) -> 'OrderedDict[str, Tensor]':
    """The model weights of a release file: EANet's ``state_dicts.model`` or a bare dict."""
    if isinstance(ckpt, Mapping) and isinstance(ckpt.get('state_dicts'), Mapping):
        ckpt = ckpt['state_dicts']
        if not isinstance(ckpt.get('model'), Mapping):
            raise KeyError(f'{source}: "state_dicts" has no "model" weights')
    return extract_state_dict(ckpt, source, prefix='')


def _parts(state: Mapping[str, Tensor]) -> List[int]:
    """Indices ``i`` of EANet's ``em_list.<i>`` embeddings."""
    return sorted({int(m.group(1)) for k in state
                   for m in [re.match(r'^em_list\.(\d+)\.', k)] if m})


def detect_variant(state: Mapping[str, Tensor], source: str) -> str:
    """'globalpool', 'pcb', 'mgn' or 'mgn_ps', read from the keys."""
    if MGN_KEY in state:
        return 'mgn_ps' if PS_KEY in state else 'mgn'
    parts = _parts(state)
    if not parts:
        raise KeyError(f'{source}: neither a PAL-MGN checkpoint (no {MGN_KEY}) nor an EANet '
                       f'one (no {EANET_KEY}); keys: {few_keys(list(state))}')
    for variant, num in EANET_PARTS.items():
        if len(parts) == num:
            return variant
    raise ValueError(f'{source}: an EANet checkpoint with {len(parts)} part embeddings '
                     f'(em_list.0 .. em_list.{parts[-1]}); only GlobalPool (1) and PCB (6) have '
                     'an mmreidparts model (9 parts is part-aligned pooling, not supported)')


def check_variant(state: Mapping[str, Tensor], variant: str, source: str) -> None:
    """Stop with the file and the key when ``state`` is not a checkpoint of ``variant``."""
    found = detect_variant(state, source)
    if found == variant:
        return
    if variant in EANET_PARTS and found in EANET_PARTS:
        num = len(_parts(state))
        raise ValueError(
            f'{source}: --variant {variant} expects {EANET_PARTS[variant]} part embedding(s) '
            f'(em_list.0 .. em_list.{EANET_PARTS[variant] - 1}), the file has {num} '
            f'(em_list.0 .. em_list.{num - 1}): a {found} checkpoint; use --variant {found}')
    if variant == 'mgn_ps':
        raise ValueError(f'{source}: --variant mgn_ps needs the PS head (key {PS_KEY}), which '
                         'the file lacks: an MGN checkpoint; use --variant mgn')
    if variant == 'mgn' and found == 'mgn_ps':
        raise ValueError(f'{source}: holds a PS head (key {PS_KEY}): an MGN+PS checkpoint; use '
                         '--variant mgn_ps')
    release = 'PAL-MGN (key ' + MGN_KEY + ')' if found.startswith('mgn') else \
        'EANet (key ' + EANET_KEY + ')'
    raise ValueError(f'{source}: --variant {variant} does not match the file, a {release} '
                     f'checkpoint of variant {found}; use --variant {found}')


def _ps_key(key: str) -> Optional[str]:
    """The mmreidparts name of a release PS-head key (None if it is not one)."""
    for old, new in PS_RULES:
        if key.startswith(old):
            return new + key[len(old):]
    return None


def _linear_from_conv(out: Dict[str, Tensor], prefix: str, weight: Tensor) -> None:
    """A bias-free 1x1 conv ``[D, C, 1, 1]`` as ``Linear`` weight ``[D, C]`` and zero bias."""
    out[prefix + 'weight'] = weight.reshape(weight.shape[0], -1).clone()
    out[prefix + 'bias'] = weight.new_zeros(weight.shape[0])


def convert_mgn(state: Mapping[str, Tensor], source: str) -> 'OrderedDict[str, Tensor]':
    """Rename a PAL-MGN state dict into ``ReIDModel(MultiBranchBackbone, MGNHead)`` keys."""
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    unknown = []
    rules = (
        (r'^backbone\.(\d)\.(.+)$',
         lambda m: f'backbone.trunk.{MGN_BACKBONE[m[1]]}.{m[2]}' if m[1] in MGN_BACKBONE
         else None),
        (r'^p([123])\.0\.(\d+)\.(.+)$',
         lambda m: f'backbone.branches.{int(m[1]) - 1}.layer3.{int(m[2]) + 1}.{m[3]}'),
        (r'^p([123])\.1\.(.+)$', lambda m: f'backbone.branches.{int(m[1]) - 1}.layer4.{m[2]}'),
        (r'^reduction_([0-2])\.1\.(.+)$', lambda m: f'head.global_embeds.{m[1]}.1.{m[2]}'),
        (r'^reduction_([3-7])\.1\.(.+)$',
         lambda m: f'head.stripe_embeds.{int(m[1]) - 3}.1.{m[2]}'),
        (r'^embedding_([123])\.0\.(.+)$',
         lambda m: f'head.global_embeds.{int(m[1]) - 1}.3.{m[2]}'),
        (r'^fc_id_2048_([012])_tmp\.(.+)$', lambda m: f'head.global_cls_embeds.{m[1]}.0.{m[2]}'),
        (r'^add_part_([123])\.0\.(.+)$',
         lambda m: f'head.global_cls_embeds.{int(m[1]) - 1}.1.{m[2]}'),
        (r'^fc_id_2048_([012])\.(.+)$', lambda m: f'head.global_classifiers.{m[1]}.{m[2]}'),
        (r'^fc_id_256_1_([01])\.(.+)$', lambda m: f'head.stripe_classifiers.{m[1]}.{m[2]}'),
        (r'^fc_id_256_2_([012])\.(.+)$',
         lambda m: f'head.stripe_classifiers.{int(m[1]) + 2}.{m[2]}'),
    )
    for key, value in state.items():
        match = re.match(r'^reduction_([0-7])\.0\.weight$', key)
        if match:
            k = int(match[1])
            prefix = f'head.global_embeds.{k}.0.' if k < 3 else f'head.stripe_embeds.{k - 3}.0.'
            _linear_from_conv(out, prefix, value)
            continue
        if key.startswith('ps_head.'):
            new = _ps_key(key)
            if new is None:
                unknown.append(key)
            else:
                out[new] = value
            continue
        for pattern, rename in rules:
            match = re.match(pattern, key)
            if match:
                new = rename(match)
                if new is None:
                    unknown.append(key)
                else:
                    out[new] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(f'{source}: keys this converter does not know in a PAL-MGN checkpoint '
                       f'({len(unknown)}): {few_keys(unknown)}')
    return out


def convert_eanet(state: Mapping[str, Tensor], variant: str,
                  source: str) -> 'OrderedDict[str, Tensor]':
    """Rename an EANet GlobalPool / PCB state dict into ``ReIDModel`` + head keys."""
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    unknown = []
    single = variant == 'globalpool'
    for key, value in state.items():
        if key.startswith('backbone.'):
            if not key.startswith('backbone.fc.'):  # an ImageNet classifier, unused
                out[key] = value
            continue
        match = re.match(r'^em_list\.(\d+)\.([01])\.(.+)$', key)
        if match:
            base = 'head.embed' if single else f'head.embeds.{match[1]}'
            out[f'{base}.{match[2]}.{match[3]}'] = value
            continue
        match = re.match(r'^cls_list\.(\d+)\.(weight|bias)$', key)
        if match:
            base = 'head.classifier' if single else f'head.classifiers.{match[1]}'
            out[f'{base}.{match[2]}'] = value
            continue
        new = _ps_key(key)
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
    if unknown:
        raise KeyError(f'{source}: keys this converter does not know in an EANet checkpoint '
                       f'({len(unknown)}): {few_keys(unknown)}')
    return out


def fill_batch_counters(state: 'OrderedDict[str, Tensor]') -> None:
    """Add the ``num_batches_tracked`` counter that older BatchNorms did not save."""
    for key in [k for k in state if k.endswith('.running_mean')]:
        counter = key[:-len('running_mean')] + 'num_batches_tracked'
        state.setdefault(counter, torch.tensor(0, dtype=torch.long))


def _dims(state: Mapping[str, Tensor], variant: str) -> Dict[str, Any]:
    """num_classes, embed_dim and the PS head's classes of a converted state dict."""
    if variant == 'globalpool':
        cls, emb = state['head.classifier.weight'], state['head.embed.0.weight']
    elif variant == 'pcb':
        cls, emb = state['head.classifiers.0.weight'], state['head.embeds.0.0.weight']
    else:
        cls = state['head.stripe_classifiers.0.weight']
        emb = state['head.stripe_embeds.0.0.weight']
    ps = state.get('aux_heads.ps_head.classifier.weight')
    return dict(num_classes=int(cls.shape[0]), embed_dim=int(emb.shape[0]),
                in_channels=int(emb.shape[1]),
                ps_num_classes=int(ps.shape[0]) if ps is not None else None)


def cfg_options(variant: str, dims: Mapping[str, Any]) -> List[str]:
    """``--cfg-options`` that make a configs/pal config match the converted weights."""
    opts = [f'model.head.num_classes={dims["num_classes"]}']
    if variant.startswith('mgn'):
        opts += [f'model.head.{k}={v}' for k, v in MGN_RELEASE_OPTIONS.items()]
    elif dims['embed_dim'] != (512 if variant == 'globalpool' else 256):
        opts.append(f'model.head.embed_dim={dims["embed_dim"]}')
    return opts


def convert(in_path: str, out_path: str, variant: Optional[str] = None,
            keep_ps_head: bool = False) -> Dict[str, Any]:
    """Convert ``in_path`` into ``out_path``; return the meta written with the weights."""
    ckpt = read_checkpoint(in_path, encoding='latin1')
    state = model_state(ckpt, in_path)
    if variant is None:
        variant = detect_variant(state, in_path)
    elif variant not in VARIANTS:
        raise ValueError(f'--variant must be one of {VARIANTS}, got {variant!r}')
    else:
        check_variant(state, variant, in_path)
    if variant.startswith('mgn'):
        converted = convert_mgn(state, in_path)
    else:
        converted = convert_eanet(state, variant, in_path)
    dims = _dims(converted, variant)
    has_ps = any(k.startswith('aux_heads.') for k in converted)
    if not keep_ps_head:
        converted = OrderedDict((k, v) for k, v in converted.items()
                                if not k.startswith('aux_heads.'))
    fill_batch_counters(converted)
    family = variant.split('_')[0]
    ps = '_ps' if keep_ps_head and has_ps else ''
    example = dict(globalpool=f'globalpool{ps}_r50_1xb32_market1501.py',
                   pcb=f'pcb{ps}_r50_1xb32_market1501.py',
                   mgn=f'mgn{ps}_r50_1xb128_msmt17.py')[family]
    meta = dict(
        source=osp.basename(in_path),
        converter='pal_to_mmreidparts',
        release='PAL-MGN' if family == 'mgn' else 'EANet',
        variant=variant,
        ps_head_in_release=has_ps,
        ps_head_kept=bool(keep_ps_head and has_ps),
        config=f'configs/pal/{example}',
        cfg_options=cfg_options(variant, dims),
        epoch=ckpt.get('epoch') if isinstance(ckpt.get('epoch'), (int, float)) else None,
        **dims)
    json.dumps(meta)  # the meta must stay JSON-able
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    torch.save(dict(state_dict=converted, meta=meta), out_path)
    return meta


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='released checkpoint (EANet ckpt.pth or PAL-MGN '
                        'model_weight.pth)')
    parser.add_argument('dst', help='output mmreidparts checkpoint (.pth)')
    parser.add_argument('--variant', choices=VARIANTS, default=None,
                        help='the model the file must hold (default: read from its keys)')
    parser.add_argument('--keep-ps-head', action='store_true',
                        help='keep the part segmentation head as aux_heads.ps_head.* (to '
                        'fine-tune with a +PS config)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the conversion and print its meta."""
    args = parse_args(argv)
    meta = convert(args.src, args.dst, args.variant, args.keep_ps_head)
    print(json.dumps(meta, indent=2))
    print(f'saved {args.dst}; test it with\n  python tools/test.py {meta["config"]} {args.dst} '
          f'--cfg-options {" ".join(meta["cfg_options"])}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
