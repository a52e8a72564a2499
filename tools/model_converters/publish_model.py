"""Turn a training checkpoint into a model-zoo checkpoint.

    python tools/model_converters/publish_model.py work_dirs/x/epoch_120.pth \
        checkpoints/bot_r50_1xb64_market1501.pth [--config CONFIG] [--drop-prefix P ...]

Keeps the model weights (a plain ``state_dict``) and a JSON-able ``meta`` (epoch, iter,
dataset meta, config text, mmreidparts version); drops optimizer, schedulers and the
message hub. With ``--config``, the model of the config says which modules are used only
for training (its ``training_only_prefixes``, e.g. ``aux_heads.``): they are dropped, and
the remaining weights must match the model. The output name gets the first 8 hex digits of
its SHA-256 (``name-1a2b3c4d.pth``); the lines to put in the metafile are printed.
``tools/model_zoo.py build`` runs the same publishing after training.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import Optional, Sequence

from mmengine.config import Config

from mmreidparts.registry import MODELS
from mmreidparts.utils import register_all_modules, strip_pretrained
from mmreidparts.zoo import publish_checkpoint


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Publish a checkpoint to the model zoo')
    parser.add_argument('src', help='training checkpoint')
    parser.add_argument('dst', help='output path (the hash prefix is added to its name)')
    parser.add_argument('--config', default=None,
                        help='config of the model: its training-only modules are dropped and '
                        'the weights are checked against it')
    parser.add_argument('--drop-prefix', nargs='*', default=[],
                        help='also drop tensors whose names start with these prefixes')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Read, strip, save and hash."""
    args = parse_args(argv)
    model = None
    if args.config:
        register_all_modules()
        cfg = Config.fromfile(args.config)
        model = MODELS.build(strip_pretrained(copy.deepcopy(cfg.model.to_dict())))
    out_dir = osp.dirname(osp.abspath(args.dst))
    name = osp.splitext(osp.basename(args.dst))[0]
    record = publish_checkpoint(args.src, out_dir, name, model=model,
                                drop_prefixes=args.drop_prefix)
    dropped = ', '.join(f'{n} under {p}' for p, n in record['dropped'].items())
    print(f'[publish] {record["num_tensors"]} tensors -> {record["path"]}' +
          (f' (dropped {dropped})' if dropped else ''))
    print(f'Weights: {record["file"]}\nSize: {record["size"]}\nSha256: {record["sha256"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
