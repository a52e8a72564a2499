"""Write VPM's synthetic partial protocol: a Market-format copy with cropped queries.

Example (Market-1501 with the upper half of every query):

    python tools/dataset_converters/make_partial_queries.py \
        data/Market-1501-v15.09.15 data/market1501_partial_top050 --ratio 0.5 --side top

The output reads with the source's dataset class (``data_root`` = the output folder);
``partial_crops.json`` in it records every crop.
"""
import argparse
from typing import List, Optional

from mmreidparts.datasets.partial_protocol import make_partial_queries


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src_root', help='Market-format dataset folder')
    parser.add_argument('dst_root', help='output folder (must not exist)')
    parser.add_argument('--ratio', type=float, nargs='+', default=[0.5],
                        help='kept fraction of the body, or LOW HIGH to draw it per query')
    parser.add_argument('--side', default='top',
                        choices=['top', 'bottom', 'left', 'right', 'bilateral',
                                 'horizontal_bilateral', 'any'])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--link', default='symlink', choices=['symlink', 'hardlink', 'copy'],
                        help='how the gallery and train folders are reproduced')
    parser.add_argument('--query-dir', default='query')
    parser.add_argument('--other-dirs', nargs='*',
                        default=['bounding_box_test', 'bounding_box_train'])
    parser.add_argument('--overwrite', action='store_true')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Run the conversion."""
    args = parse_args(argv)
    if len(args.ratio) not in (1, 2):
        raise SystemExit('--ratio takes one value or a LOW HIGH pair')
    ratio = args.ratio[0] if len(args.ratio) == 1 else tuple(args.ratio)
    crops = make_partial_queries(args.src_root, args.dst_root, ratio=ratio, side=args.side,
                                 seed=args.seed, link=args.link, query_dir=args.query_dir,
                                 other_dirs=args.other_dirs, overwrite=args.overwrite)
    print(f'wrote {len(crops)} cropped queries to {args.dst_root}')


if __name__ == '__main__':
    main()
