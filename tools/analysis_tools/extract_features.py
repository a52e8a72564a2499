"""Embed a dataset's test split, or a folder of images, into one feature file.

    python tools/analysis_tools/extract_features.py CONFIG CHECKPOINT --out feats.pt \
        [--split test|query|gallery|train] [--folder DIR] [--batch-size 64] [--device cuda]

Without ``--folder`` the images are those of the config's test dataset (``--split``
picks its mode; 'test' = queries and gallery, with ``is_query``), with their person and
camera ids and the dataset's evaluation protocol. With ``--folder`` the images of that
folder (recursively), ids read from Market-style names where they match (else -1).
CHECKPOINT may be an exported ``.onnx``. The file holds embeddings ``[N, P, D]``,
visibility ``[N, P]``, embedding names, image paths, ids and the evaluator's distance
(see ``mmreidparts.apis.features``); unreadable images are skipped and listed. Rank two
files, or one test file, without the model with ``tools/analysis_tools/rank_features.py``.
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import load_config  # noqa: E402

from mmreidparts.apis import ReIDInferencer, list_images  # noqa: E402
from mmreidparts.apis.features import features_of, save_features  # noqa: E402
from mmreidparts.apis.search import identity_of  # noqa: E402
from mmreidparts.registry import DATASETS  # noqa: E402
from mmreidparts.utils import register_all_modules  # noqa: E402

SPLITS = ('test', 'query', 'gallery', 'train')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Extract ReID features to one file')
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='checkpoint (.pth) or exported model (.onnx)')
    parser.add_argument('--out', required=True, help='the feature file to write (.pt)')
    parser.add_argument('--split', choices=SPLITS, default='test')
    parser.add_argument('--folder', default=None, help='embed this folder instead')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--device', default=None, help='default: cuda if available')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def dataset_records(cfg, split: str) -> tuple:
    """``(records, metainfo)`` of the config's test dataset in mode ``split``."""
    ds_cfg = dict(cfg.test_dataloader.dataset)
    ds_cfg['pipeline'] = []
    ds_cfg['mode'] = split
    dataset = DATASETS.build(ds_cfg)
    return [dataset.get_data_info(i) for i in range(len(dataset))], dict(dataset.metainfo)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Embed the images and write the file."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    register_all_modules(init_default_scope=True)
    inferencer = ReIDInferencer(cfg, args.checkpoint, device=args.device)
    meta = dict(model=dict(config=osp.abspath(args.config),
                           checkpoint=osp.abspath(args.checkpoint)))
    if args.folder:
        paths = list_images(args.folder)
        if not paths:
            raise ValueError(f'no images in {args.folder}')
        ids = [identity_of(p) for p in paths]
        pids = [-1 if pid is None else pid for pid, _ in ids]
        camids = [-1 if cam is None else cam for _, cam in ids]
        is_query = None
        meta['source'] = osp.abspath(args.folder)
    else:
        records, info = dataset_records(cfg, args.split)
        paths = [r['img_path'] for r in records]
        pids = [r['pid'] for r in records]
        camids = [r['camid'] for r in records]
        is_query = [bool(r['is_query']) for r in records]
        meta.update(source=info.get('dataset_name'), split=args.split,
                    eval_protocol=info.get('eval_protocol'))
    feats = features_of(inferencer, paths, pids, camids, is_query,
                        batch_size=args.batch_size, meta=meta)
    save_features(feats, args.out)
    for path, reason in feats['skipped']:
        print(f'[features] skipped {path}: {reason}', file=sys.stderr)
    num, parts, dim = feats['embeddings'].shape
    print(f'[features] {num} images ({len(feats["skipped"])} skipped), {parts} embeddings of '
          f'{dim} {tuple(feats["embedding_names"])} -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
