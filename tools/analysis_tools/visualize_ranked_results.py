"""Draw the top-ranked gallery images of some queries of a test set.

    python tools/analysis_tools/visualize_ranked_results.py CONFIG CHECKPOINT \
        --out ranked.png [--num-queries 8] [--topk 8] [--seed 0] [--occluded-only]

Green frame: same person; red frame: another person; blue frame: the query. Gallery
images excluded by the protocol (same person and same camera under 'market') are skipped.
"""
import argparse
import json
import os
import os.path as osp
from typing import List

import cv2
import numpy as np
import torch
from mmengine.config import DictAction

from mmreidparts.apis import inference_model, init_model
from mmreidparts.evaluation.functional import part_distance
from mmreidparts.registry import DATASETS
from mmreidparts.utils import register_all_modules
from mmreidparts.utils.config import read_config
from mmreidparts.visualization import draw_ranked_list


def parse_args() -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Visualise ranked retrieval results')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', default='ranked.png', help='output image (PNG)')
    parser.add_argument('--num-queries', type=int, default=8)
    parser.add_argument('--topk', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def _embed(model: torch.nn.Module, paths: List[str], batch_size: int):
    """Stacked embeddings [N, P, D] and visibility [N, P] of the images."""
    samples = inference_model(model, paths, batch_size=batch_size)
    emb = torch.stack([s.embeddings for s in samples]).float()
    vis = torch.stack([s.visibility for s in samples]).float()
    return emb, vis


def main() -> None:
    """Embed the test set, rank a few queries and save the sheet."""
    args = parse_args()
    register_all_modules()
    cfg = read_config(args.config, args.cfg_options)
    model = init_model(cfg, args.checkpoint)
    ds_cfg = dict(cfg.test_dataloader.dataset)
    ds_cfg['pipeline'] = []
    dataset = DATASETS.build(ds_cfg)
    records = [dataset.get_data_info(i) for i in range(len(dataset))]
    queries = [r for r in records if r['is_query']]
    gallery = [r for r in records if not r['is_query']]
    rng = np.random.default_rng(args.seed)
    chosen = sorted(rng.choice(len(queries), min(args.num_queries, len(queries)),
                               replace=False).tolist())
    queries = [queries[i] for i in chosen]
    q_emb, q_vis = _embed(model, [r['img_path'] for r in queries], args.batch_size)
    g_emb, g_vis = _embed(model, [r['img_path'] for r in gallery], args.batch_size)
    evaluator = cfg.get('test_evaluator', {}) or {}
    if isinstance(evaluator, (list, tuple)):  # the ReID metric first (then e.g. parsing)
        evaluator = evaluator[0]
    dist = part_distance(q_emb, q_vis, g_emb, g_vis, metric=evaluator.get('metric', 'euclidean'),
                         normalize=evaluator.get('normalize', False))
    protocol = evaluator.get('protocol', 'market')
    g_pid = np.array([r['pid'] for r in gallery])
    g_cam = np.array([r['camid'] for r in gallery])
    q_imgs, g_imgs, match_rows, dist_rows, summary = [], [], [], [], []
    for i, q in enumerate(queries):
        d = dist[i].numpy().copy()
        if protocol == 'market':
            d[(g_pid == q['pid']) & (g_cam == q['camid'])] = np.inf
        order = np.argsort(d, kind='stable')[:args.topk]
        q_imgs.append(cv2.imread(q['img_path']))
        g_imgs.append([cv2.imread(gallery[j]['img_path']) for j in order])
        match_rows.append(g_pid[order] == q['pid'])
        dist_rows.append(d[order])
        summary.append(dict(query=osp.basename(q['img_path']),
                            ranked=[osp.basename(gallery[j]['img_path']) for j in order]))
    sheet = draw_ranked_list(q_imgs, g_imgs, np.stack(match_rows), np.stack(dist_rows),
                             titles=[f"id {q['pid']}" for q in queries])
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if not cv2.imwrite(args.out, sheet):
        raise OSError(f'could not write {args.out}')
    with open(osp.splitext(args.out)[0] + '.json', 'w', encoding='utf-8') as f:
        json.dump(summary, f, indent=1)
    hits = float(np.mean([m[0] for m in match_rows]))
    print(f'[visualize] {len(queries)} queries, rank-1 hits {hits:.2f}; saved {args.out}')


if __name__ == '__main__':
    main()
