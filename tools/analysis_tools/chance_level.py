"""Rank-1 / mAP of a random ranking on a config's test set (the chance level).

    python tools/analysis_tools/chance_level.py CONFIG [--repeats 20] [--seed 0]

Ranks the test set's queries against its gallery with random distances, under the
evaluator's protocol, and prints the mean and standard deviation over the repeats.
"""
import argparse
import json

import numpy as np
import torch
from mmengine.config import DictAction

from mmreidparts.evaluation.functional import rank_metrics
from mmreidparts.registry import DATASETS
from mmreidparts.utils import register_all_modules
from mmreidparts.utils.config import read_config


def main() -> None:
    """Evaluate random rankings of the test split."""
    parser = argparse.ArgumentParser(description='Chance level of a ReID test set')
    parser.add_argument('config')
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the figures to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    register_all_modules()
    cfg = read_config(args.config, args.cfg_options)
    ds_cfg = dict(cfg.test_dataloader.dataset)
    ds_cfg['pipeline'] = []
    dataset = DATASETS.build(ds_cfg)
    recs = [dataset.get_data_info(i) for i in range(len(dataset))]
    q = [r for r in recs if r['is_query']]
    g = [r for r in recs if not r['is_query']]
    evaluator = cfg.get('test_evaluator', {}) or {}
    if isinstance(evaluator, (list, tuple)):  # the ReID metric first (then e.g. parsing)
        evaluator = evaluator[0]
    protocol = evaluator.get('protocol', 'market')
    gen = torch.Generator().manual_seed(args.seed)
    r1, maps = [], []
    for _ in range(args.repeats):
        dist = torch.rand(len(q), len(g), generator=gen)
        res = rank_metrics(dist, [r['pid'] for r in q], [r['pid'] for r in g],
                           [r['camid'] for r in q], [r['camid'] for r in g], protocol=protocol)
        r1.append(float(res.cmc[0]) * 100)
        maps.append(res.mAP * 100)
    out = dict(queries=len(q), gallery=len(g), protocol=protocol, repeats=args.repeats,
               rank1=float(np.mean(r1)), rank1_std=float(np.std(r1)), mAP=float(np.mean(maps)),
               mAP_std=float(np.std(maps)))
    print(f"[chance] {out['queries']} queries x {out['gallery']} gallery ({protocol}): "
          f"rank-1 {out['rank1']:.2f} +- {out['rank1_std']:.2f}, "
          f"mAP {out['mAP']:.2f} +- {out['mAP_std']:.2f} (random distances, "
          f"{args.repeats} draws)")
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(out, f, indent=2)


if __name__ == '__main__':
    main()
