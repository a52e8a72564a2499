"""Re-identification metrics on all queries and on a subset of them (e.g. occluded ones).

    python tools/analysis_tools/eval_query_subset.py CONFIG CHECKPOINT
        (--occluded | --query-list FILE) [--batch-size 128] [--device cpu]
        [--out metrics.json] [--cfg-options k=v ...]

The config's test set (queries and gallery) is embedded once; the config's evaluator
(``test_evaluator``, e.g. ``ReIDMetric``) then ranks every query against the whole gallery,
and again only the queries of the subset against the same gallery. The subset is

- ``--occluded``: the occluded query images listed in ``<data_root>/meta.json`` by the
  synthetic generator (``mmreidparts.synthetic``);
- ``--query-list FILE``: one image per line, a file name or a path relative to the data
  root (only the file name is compared).
"""
import argparse
import copy
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Set, Tuple

import torch
from mmengine.config import Config, DictAction
from prettytable import PrettyTable
from torch import nn

from mmreidparts.registry import DATASETS, METRICS
from mmreidparts.utils import register_all_modules

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from part_iou import build_model, iter_batches  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    parser = argparse.ArgumentParser(
        description='ReID metrics on all queries and on a subset of the queries')
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    subset = parser.add_mutually_exclusive_group(required=True)
    subset.add_argument('--occluded', action='store_true',
                        help='the occluded queries of a synthetic set (its meta.json)')
    subset.add_argument('--query-list', help='text file naming the queries of the subset')
    parser.add_argument('--batch-size', type=int, default=128, help='images per batch')
    parser.add_argument('--device', default=None, help='cpu or cuda (default: cuda if any)')
    parser.add_argument('--out', default=None, help='also write the metrics to this JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value pairs')
    return parser.parse_args(argv)


def occluded_queries(data_root: str) -> Set[str]:
    """File names of the occluded query images listed in a synthetic set's ``meta.json``."""
    path = osp.join(data_root, 'meta.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: --occluded needs a set written by the '
                                'synthetic generator (tools/dataset_converters/'
                                'generate_synthetic.py)')
    with open(path, encoding='utf-8') as f:
        meta = json.load(f)
    return {osp.basename(p) for p in meta.get('occluded', []) if p.startswith('query/')}


def listed_queries(path: str) -> Set[str]:
    """File names of the images listed one per line in ``path`` (blank lines skipped)."""
    with open(path, encoding='utf-8') as f:
        return {osp.basename(line.strip()) for line in f if line.strip()}


def embed(model: nn.Module, dataset, batch_size: int) -> Tuple[List, List[str]]:
    """Predicted data samples of the whole dataset and their image file names, in order."""
    samples, names = [], []
    for batch in iter_batches(dataset, batch_size):
        with torch.no_grad():
            out = model.test_step(batch)
        samples.extend(out)
        names.extend(osp.basename(s.metainfo['img_path']) for s in out)
    return samples, names


def subset_metrics(evaluator_cfg: dict, samples: List, names: List[str],
                   subset: Optional[Set[str]],
                   dataset_meta: Optional[dict] = None) -> Dict[str, Dict[str, float]]:
    """Metrics of all queries and of the queries named in ``subset`` (same gallery).

    With ``subset=None`` only ``'all'`` is computed.
    """
    metric = METRICS.build(copy.deepcopy(evaluator_cfg))
    metric.dataset_meta = dataset_meta  # as mmengine's Evaluator does (protocol='auto')
    metric.process({}, samples)
    results = metric.results
    if subset is None:
        return {'all': metric.compute_metrics(results)}
    keep = [not r['is_query'] or name in subset for r, name in zip(results, names)]
    num_sub = sum(1 for r, k in zip(results, keep) if k and r['is_query'])
    if num_sub == 0:
        raise ValueError('none of the listed images is a query of this test set')
    return {'all': metric.compute_metrics(results),
            'subset': metric.compute_metrics([r for r, k in zip(results, keep) if k])}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Embed the test set once and print the metrics of all queries and of the subset."""
    args = parse_args(argv)
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            sys.exit(f'{what} file not found: {path}')
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    model = build_model(cfg, args.checkpoint, device)
    ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset = DATASETS.build(ds_cfg)
    subset = (occluded_queries(dataset.data_root) if args.occluded
              else listed_queries(args.query_list))
    samples, names = embed(model, dataset, args.batch_size)
    evaluator = cfg.test_evaluator
    if isinstance(evaluator, (list, tuple)):
        evaluator = evaluator[0]
    metrics = subset_metrics(dict(evaluator), samples, names, subset, dataset.metainfo)
    num_queries = sum(1 for s in samples if s.metainfo.get('is_query'))
    num_sub = sum(1 for s, n in zip(samples, names) if s.metainfo.get('is_query') and n in subset)
    table = PrettyTable()
    keys = [k for k in metrics['all'] if k.startswith('rank') or k in ('mAP', 'mINP')]
    table.field_names = ['queries', 'count'] + keys
    for label, count in (('all', num_queries), ('subset', num_sub)):
        table.add_row([label, count] + [f'{metrics[label][k]:.2f}' for k in keys])
    print(f'{args.checkpoint}: {num_queries} queries ({num_sub} in the subset), '
          f'{len(samples) - num_queries} gallery images')
    print(table)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(dict(metrics, num_queries=num_queries, num_subset=num_sub), f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
