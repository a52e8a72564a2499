"""Generate body-part label maps for a ReID dataset (offline, once per dataset).

Writes ``<out_root>/<scheme>/<split>/<image stem>.png`` (uint8, 0 = background, 1..K in the
order of the scheme's parts) and ``<out_root>/<scheme>/summary.json``; ``out_root``
defaults to ``<data_root>/masks``. Re-running skips finished images.

Examples::

    # pose + person mask (pip install -e .[labels])
    python tools/dataset_converters/generate_part_labels.py data/market1501 \\
        --backend mediapipe --schemes bpbreid5 bpbreid8 pal7 atoms13 --workers 4
    # ... and save the pose keypoints it found, as COCO JSON per split (for the keypoints
    # backend, or the pose distillation of tools/pretrain_part_stream.py)
    python tools/dataset_converters/generate_part_labels.py data/market1501 \\
        --backend mediapipe --schemes atoms13 --save-keypoints --keypoint-dir DIR
    # from COCO keypoint files <data_root>/keypoints/<split>.json
    python tools/dataset_converters/generate_part_labels.py data/occluded_duke \\
        --backend keypoints --schemes bpbreid8
    # from BPBReID's released PifPaf fields <field_root>/<split>/<image>.confidence_fields.npy
    python tools/dataset_converters/generate_part_labels.py data/market1501 \\
        --backend pifpaf --field-root data/market1501/masks/pifpaf --schemes bpbreid5
"""
import argparse
import json
import logging
import os.path as osp
import sys

from mmreidparts.part_labels import (
    build_backend,
    collect_tasks,
    compare_label_dirs,
    run_generation,
    write_visualization,
)
from mmreidparts.part_labels.generate import write_bytes_atomic
from mmreidparts.structures.part_schemes import PART_SCHEMES


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description='Generate body-part label maps for a ReID dataset',
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('data_root', help='dataset root holding the split folders')
    p.add_argument('--backend', choices=('mediapipe', 'keypoints', 'pifpaf'),
                   default='mediapipe', help='label source')
    p.add_argument('--schemes', nargs='+', default=['bpbreid8'],
                   help=f'part schemes to write; known: {", ".join(sorted(PART_SCHEMES))} '
                   '(atoms13 stores the finest labels, from which every scheme derives)')
    p.add_argument('--splits', nargs='+', default=None,
                   help='split folders (default: bounding_box_train query bounding_box_test)')
    p.add_argument('--out-root', default=None, help='label root (default <data_root>/masks)')
    p.add_argument('--workers', type=int, default=1, help='processes (<= 1: in process)')
    p.add_argument('--limit', type=int, default=None,
                   help='label at most this many images (evenly spaced sample)')
    p.add_argument('--keypoint-dir', default=None,
                   help='folder of the COCO keypoint files <split>.json: read by the keypoints '
                   'backend, written with --save-keypoints (default <data_root>/keypoints)')
    p.add_argument('--save-keypoints', action='store_true',
                   help='also save the pose keypoints found (mediapipe: its landmarks mapped '
                   'to COCO-17) to --keypoint-dir; images whose labels exist but whose '
                   'keypoints are missing are run again for their keypoints')
    p.add_argument('--field-root', default=None,
                   help='pifpaf backend: folder of <split>/<image>[.confidence_fields].npy')
    p.add_argument('--threshold', type=float, default=0.5,
                   help='pifpaf backend: field threshold of the label rule')
    p.add_argument('--target-height', type=int, default=512,
                   help='mediapipe backend: crops are upscaled to this height')
    p.add_argument('--visualize', type=int, default=0, metavar='N',
                   help='write a sheet of N images with their label maps overlaid')
    p.add_argument('--vis-out', default=None,
                   help='sheet path (default <out_root>/<scheme>/visualization.jpg)')
    p.add_argument('--compare-to', default=None, metavar='MASK_ROOT',
                   help='reference label root (<root>/<scheme>/<split>/...): report per-part IoU')
    p.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    return p.parse_args(argv)


def main(argv=None) -> int:
    """Run the generator and print the summary of each scheme."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    if not osp.isdir(args.data_root):
        sys.exit(f'{args.data_root}: dataset root not found')
    for s in args.schemes:
        if s not in PART_SCHEMES:
            sys.exit(f'unknown part scheme {s!r}; known: {sorted(PART_SCHEMES)}')
    kwargs = {}
    if args.backend == 'pifpaf':
        if args.field_root is None:
            sys.exit('--field-root is required with --backend pifpaf')
        kwargs['threshold'] = args.threshold
    elif args.backend == 'mediapipe':
        kwargs['target_height'] = args.target_height
    backend = build_backend(args.backend, args.data_root, keypoint_dir=args.keypoint_dir,
                            **kwargs)
    out_root = args.out_root or osp.join(args.data_root, 'masks')
    keypoint_out = None
    if args.save_keypoints:
        keypoint_out = args.keypoint_dir or osp.join(args.data_root, 'keypoints')
        if args.backend == 'keypoints':
            sys.exit('--save-keypoints with --backend keypoints would rewrite the keypoint '
                     'files being read; use the mediapipe backend')
        if not backend.finds_keypoints:
            sys.exit(f'--save-keypoints: the {args.backend} backend finds no keypoints')
    tasks = collect_tasks(args.data_root, args.splits, backend.input_kind, args.field_root,
                          args.limit)
    summaries = run_generation(backend, args.data_root, args.schemes, out_root=out_root,
                               workers=args.workers, progress=not args.no_progress,
                               tasks=tasks, keypoint_dir=keypoint_out)
    for name, summary in summaries.items():
        if args.compare_to:
            summary['comparison'] = compare_label_dirs(out_root, args.compare_to, name,
                                                       args.splits)
            write_bytes_atomic(osp.join(out_root, name, 'summary.json'),
                               json.dumps(summary, indent=2).encode('utf-8'))
        brief = {k: summary[k] for k in ('scheme', 'processed', 'skipped_existing', 'images',
                                         'with_person', 'no_person', 'person_found_share',
                                         'coverage', 'keypoints', 'timing')}
        brief['unreadable'] = [u['path'] for u in summary['unreadable']]
        if 'comparison' in summary:
            brief['comparison'] = summary['comparison']
        print(json.dumps(brief, indent=2))
    if args.visualize > 0:
        scheme = next((s for s in args.schemes if s != 'atoms13'), args.schemes[0])
        path = args.vis_out or osp.join(out_root, scheme, 'visualization.jpg')
        print('visualisation:', write_visualization(tasks, out_root, scheme, args.visualize,
                                                     path))
    return 0


if __name__ == '__main__':
    sys.exit(main())
