"""Search a gallery folder for the persons of one or more query images.

    python demo/reid_demo.py QUERY [QUERY ...] --gallery DIR --model MODEL \
        [--weights CKPT] [--topk 10] [--out-dir demo_out] [--cache-dir DIR]

MODEL is a zoo name (``python -c "from mmreidparts.apis import list_models;
print(list_models())"``) or a config file; ``--weights`` a checkpoint (``.pth``) or an
exported model (``.onnx``). Writes ``<out-dir>/ranked.png`` (one row per query: the
query, blue frame, then its top-k gallery images: green frame the same person, red
another, grey unknown; ids are read from Market-style file names ``<pid>_c<cam>...``;
part models show their parts over each image and a visibility strip below it) and
``<out-dir>/ranked.json`` (the same ranking with distances and visibility).

The gallery's features are cached in ``--cache-dir`` (default
``~/.cache/mmreidparts/galleries``), keyed by the model and the gallery's files: the next
call with the same model and gallery only embeds the queries. Unreadable gallery images
are reported by name and skipped.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Optional, Sequence

import cv2
from mmengine.config import DictAction

from mmreidparts.apis import ReIDInferencer
from mmreidparts.apis.search import draw_search, search_gallery

DEFAULT_CACHE = osp.join(osp.expanduser('~'), '.cache', 'mmreidparts', 'galleries')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Query images against a gallery folder')
    parser.add_argument('queries', nargs='+', help='query image files')
    parser.add_argument('--gallery', required=True, help='folder of gallery images')
    parser.add_argument('--model', required=True, help='zoo model name or config file')
    parser.add_argument('--weights', default=None,
                        help='checkpoint (.pth) or exported model (.onnx); default: the '
                        "zoo model's published weights")
    parser.add_argument('--topk', type=int, default=10)
    parser.add_argument('--out-dir', default='demo_out')
    parser.add_argument('--cache-dir', default=DEFAULT_CACHE)
    parser.add_argument('--device', default=None, help='default: cuda if available')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--no-overlay', action='store_true',
                        help='do not draw the part maps over the images')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Rank the gallery for each query; write the picture and the JSON."""
    args = parse_args(argv)
    for path in args.queries:
        if not osp.isfile(path):
            raise FileNotFoundError(f'query image not found: {path}')
    inferencer = ReIDInferencer(args.model, args.weights, device=args.device,
                                cfg_options=args.cfg_options)
    result = search_gallery(inferencer, args.queries, args.gallery, args.cache_dir,
                            topk=args.topk, batch_size=args.batch_size)
    result['model'] = dict(model=args.model, weights=args.weights)
    for path, reason in result['skipped']:
        print(f'[demo] skipped gallery image {path}: {reason}', file=sys.stderr)
    os.makedirs(args.out_dir, exist_ok=True)
    sheet = draw_search(inferencer, result, args.queries, overlay=not args.no_overlay)
    png = osp.join(args.out_dir, 'ranked.png')
    if not cv2.imwrite(png, sheet):
        raise OSError(f'could not write {png}')
    with open(osp.join(args.out_dir, 'ranked.json'), 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=1)
    source = 'cached' if result['from_cache'] else 'embedded'
    print(f'[demo] {len(args.queries)} queries against {result["gallery_size"]} gallery '
          f'images ({source}); wrote {png} and ranked.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
