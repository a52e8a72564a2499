"""Convert part-aligned bilinear weights (release, BVLC GoogLeNet, CMU OpenPose) for mmreidparts.

    python tools/model_converters/part_bilinear_to_mmreidparts.py SRC DST \\
        [--kind auto|release|googlenet|openpose] [--sketch-dim D] [--args-json FILE] \\
        [--config CONFIG]

``release``: the authors' ``epoch_750.pth.tar`` (``app_state_dict`` + ``part_state_dict``)
becomes a model-zoo checkpoint (plain ``state_dict`` + JSON ``meta``) of a ``ReIDModel``
with a ``TwoStreamBackbone`` (GoogLeNet + OpenPose trunk) and a ``PartBilinearHead``. The
release rebuilds its count sketches from numpy seeds 1, 3, 5, 7 at start-up instead of
saving them; they are regenerated here for the sketch dimension d (``--sketch-dim``, or
``features`` of the ``args.json`` beside the checkpoint, else 512). With ``--config`` the
result is checked against the model of that config (every tensor and shape, and the
release's ``dilation`` / ``use_relu`` against the config) and a mismatch stops the
conversion with the keys that differ.

``googlenet`` / ``openpose``: a converted BVLC GoogLeNet or CMU OpenPose COCO body model
(Caffe layer names) becomes a state dict in the layout of ``GoogLeNetBVLC`` /
``OpenPoseTrunk``. (Their ``pretrained`` option also reads those files directly.)

Every file is read with ``torch.load(weights_only=True)``.
"""
import argparse
import copy
import json
import os.path as osp
import sys
from typing import Dict, Optional, Sequence

import torch

from mmreidparts.models.utils.bilinear_pooling import RELEASE_SEEDS
from mmreidparts.models.utils.caffe_layouts import (
    convert_googlenet,
    convert_openpose,
    release_to_mmreidparts,
    state_summary,
)
from mmreidparts.models.utils.checkpoint import load_checkpoint_file
from mmreidparts.utils import register_checkpoint_safe_globals

KINDS = ('auto', 'release', 'googlenet', 'openpose')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description='Convert part-aligned bilinear weights')
    p.add_argument('src', help='release checkpoint, BVLC GoogLeNet or CMU OpenPose weights')
    p.add_argument('dst', help='output file')
    p.add_argument('--kind', choices=KINDS, default='auto', help='what SRC holds')
    p.add_argument('--sketch-dim', type=int, default=None,
                   help='compact bilinear dimension d of a release model (default: '
                   '"features" of args.json beside SRC, else 512)')
    p.add_argument('--args-json', default=None,
                   help="the release's args.json (default: SRC's folder/args.json if present)")
    p.add_argument('--config', default=None,
                   help='check the converted release model against this config')
    return p.parse_args(argv)


def detect_kind(checkpoint: dict) -> str:
    """'release', 'googlenet' or 'openpose' from the keys of a loaded file."""
    if 'app_state_dict' in checkpoint or 'part_state_dict' in checkpoint:
        return 'release'
    state = checkpoint.get('state_dict', checkpoint)
    keys = ' '.join(map(str, state))
    return 'googlenet' if 'inception_' in keys else 'openpose'


def read_release_args(src: str, path: Optional[str]) -> Dict:
    """The release's training arguments (``args.json``), or {} when there is none."""
    path = path or osp.join(osp.dirname(osp.abspath(src)), 'args.json')
    if not osp.isfile(path):
        return {}
    try:
        with open(path, encoding='utf-8') as f:
            args = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f'{path}: cannot read the release arguments ({err})') from None
    if not isinstance(args, dict):
        raise ValueError(f'{path}: expected a JSON object of training arguments')
    return args


def check_against_config(state: Dict[str, torch.Tensor], meta: Dict, config: str) -> None:
    """Raise a RuntimeError naming the keys (or options) where ``state`` and ``config`` differ."""
    from mmengine.config import Config

    from mmreidparts.registry import MODELS
    from mmreidparts.utils import check_state_dict_compatible, register_all_modules
    from mmreidparts.utils.config import strip_pretrained
    register_all_modules()
    cfg = Config.fromfile(config)
    model_cfg = cfg.model.to_dict()
    model = MODELS.build(strip_pretrained(copy.deepcopy(model_cfg)))
    check_state_dict_compatible(model, state, meta['source'])
    app_cfg = model_cfg['backbone'].get('appearance', {})
    options = {'dilation': (meta.get('dilation'), app_cfg.get('dilation', 1)),
               'use_relu': (meta.get('use_relu'),
                            model_cfg['head'].get('part_relu', False))}
    wrong = [f'{name}: release {ours[0]!r} vs config {ours[1]!r}'
             for name, ours in options.items() if ours[0] is not None and ours[0] != ours[1]]
    if wrong:
        raise RuntimeError(f'{meta["source"]} was trained with other options than {config}: '
                           + '; '.join(wrong))


def convert(src: str, dst: str, kind: str = 'auto', sketch_dim: Optional[int] = None,
            args_json: Optional[str] = None, config: Optional[str] = None) -> Dict:
    """Convert ``src`` into ``dst``; return the meta written with it."""
    register_checkpoint_safe_globals()  # numpy arrays of converted Caffe models
    checkpoint = load_checkpoint_file(src)
    if not isinstance(checkpoint, dict):
        raise TypeError(f'{src}: expected a dict, got {type(checkpoint).__name__}')
    kind = detect_kind(checkpoint) if kind == 'auto' else kind
    meta: Dict = dict(source=osp.basename(src), kind=kind)
    if kind == 'release':
        args = read_release_args(src, args_json)
        d = sketch_dim or int(args.get('features', 512))
        state = release_to_mmreidparts(checkpoint, d, RELEASE_SEEDS, osp.basename(src))
        meta.update(sketch_dim=d, seeds=list(RELEASE_SEEDS), epoch=checkpoint.get('epoch'),
                    dilation=args.get('dilation'), use_relu=args.get('use_relu'))
        if config is not None:
            check_against_config(state, meta, config)
        meta['config'] = config
    elif kind == 'googlenet':
        state = convert_googlenet(checkpoint, osp.basename(src))
    elif kind == 'openpose':
        state = convert_openpose(checkpoint, osp.basename(src))
    else:
        raise ValueError(f'unknown kind {kind!r}; choose one of {KINDS}')
    meta['tensors'] = state_summary(state)
    torch.save(dict(state_dict=dict(state), meta=meta), dst)
    return meta


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the conversion and print its meta."""
    args = parse_args(argv)
    if not osp.isfile(args.src):
        sys.exit(f'{args.src}: file not found')
    try:
        meta = convert(args.src, args.dst, args.kind, args.sketch_dim, args.args_json,
                       args.config)
    except (KeyError, RuntimeError, ValueError, TypeError) as err:
        sys.exit(f'conversion failed: {err}')
    print(json.dumps(meta, indent=2))
    print(f'saved {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
