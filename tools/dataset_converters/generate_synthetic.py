"""Generate the synthetic pedestrian dataset (Market-1501 layout, part labels, keypoints).

Examples::

    # the default set: 200 train + 200 test identities, 128x64 images, 6 cameras
    python tools/dataset_converters/generate_synthetic.py data/synthetic
    # larger images, another seed, 4 processes, replace an existing set
    python tools/dataset_converters/generate_synthetic.py data/synthetic_256 \\
        --size 256 128 --seed 1 --workers 4 --overwrite

Running it again with the same arguments returns at once (``meta.json`` records them).
"""
import argparse
import json

from mmreidparts.synthetic import DEFAULT_SCHEMES, generate_synthetic_dataset


def parse_args() -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Render the synthetic ReID dataset')
    parser.add_argument('out_dir', help='output folder (Market-1501 layout)')
    parser.add_argument('--train-ids', type=int, default=200, help='training identities')
    parser.add_argument('--test-ids', type=int, default=200, help='query/gallery identities')
    parser.add_argument('--images-per-id', type=int, nargs=2, default=(6, 12),
                        metavar=('MIN', 'MAX'), help='images per identity (inclusive range)')
    parser.add_argument('--cameras', type=int, default=6, help='number of cameras')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--size', type=int, nargs=2, default=(128, 64), metavar=('H', 'W'),
                        help='image height and width')
    parser.add_argument('--schemes', nargs='+', default=list(DEFAULT_SCHEMES),
                        help='part schemes whose label maps are written')
    parser.add_argument('--occlusion', type=float, nargs=3, default=(0.0, 0.3, 0.1),
                        metavar=('TRAIN', 'QUERY', 'GALLERY'),
                        help='share of occluded images per split')
    parser.add_argument('--workers', type=int, default=1, help='worker processes')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a set generated with other parameters')
    return parser.parse_args()


def main() -> None:
    """Generate the dataset and print the summary as JSON."""
    args = parse_args()
    occ = dict(zip(('train', 'query', 'gallery'), args.occlusion))
    summary = generate_synthetic_dataset(
        args.out_dir, num_train_ids=args.train_ids, num_test_ids=args.test_ids,
        images_per_id=tuple(args.images_per_id), seed=args.seed, img_size=tuple(args.size),
        schemes=tuple(args.schemes), occlusion=occ, num_cameras=args.cameras,
        num_workers=args.workers, overwrite=args.overwrite)
    print(json.dumps(summary, indent=1))


if __name__ == '__main__':
    main()
