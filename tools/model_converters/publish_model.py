"""Turn a training checkpoint into a model-zoo checkpoint.

    python tools/model_converters/publish_model.py work_dirs/x/epoch_120.pth \
        checkpoints/bot_r50_1xb64_market1501.pth [--drop-prefix head.classifier.]

Keeps the model weights (a plain ``state_dict``) and a JSON-able ``meta`` (epoch, iter,
dataset meta, config text, mmreidparts version); drops optimizer, schedulers, the
message hub and the training-only heads (``aux_heads.*``, e.g. the part segmentation
head of part awareness learning; ``--keep-aux-heads`` keeps them). The output name gets
the first 8 hex digits of its SHA-256 (``name-1a2b3c4d.pth``), and the full hash is
printed for the metafile.
"""
import argparse
import json
import os
import os.path as osp

import torch

from mmreidparts import __version__
from mmreidparts.apis import sha256_of
from mmreidparts.models.reid.reid_model import AUX_HEADS_PREFIX
from mmreidparts.utils import load_state_dict_file


def _jsonable(value):
    """``value`` if it survives json.dumps, else its string form."""
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def main() -> None:
    """Read, strip, save and hash."""
    parser = argparse.ArgumentParser(description='Publish a checkpoint to the model zoo')
    parser.add_argument('src', help='training checkpoint')
    parser.add_argument('dst', help='output path (the hash prefix is added to its name)')
    parser.add_argument('--drop-prefix', nargs='*', default=[],
                        help='drop tensors whose names start with these prefixes '
                        '(e.g. training-only heads)')
    parser.add_argument('--keep-aux-heads', action='store_true',
                        help=f'keep the training-only heads ({AUX_HEADS_PREFIX}*)')
    args = parser.parse_args()
    state, meta = load_state_dict_file(args.src)
    drop = tuple(args.drop_prefix) + (() if args.keep_aux_heads else (AUX_HEADS_PREFIX, ))
    dropped = [k for k in state if k.startswith(drop)]
    state = {k: v for k, v in state.items() if not k.startswith(drop)}
    keep = ('epoch', 'iter', 'dataset_meta', 'cfg', 'seed', 'experiment_name')
    out_meta = {k: _jsonable(meta[k]) for k in keep if k in meta}
    out_meta['mmreidparts_version'] = __version__
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    tmp = args.dst + '.tmp'
    torch.save(dict(state_dict=state, meta=out_meta), tmp)
    digest = sha256_of(tmp)
    stem, ext = osp.splitext(args.dst)
    final = f'{stem}-{digest[:8]}{ext or ".pth"}'
    os.replace(tmp, final)
    print(f'[publish] {len(state)} tensors ({len(dropped)} dropped) -> {final}\n'
          f'Sha256: {digest}')


if __name__ == '__main__':
    main()
