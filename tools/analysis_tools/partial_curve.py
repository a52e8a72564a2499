"""Accuracy against the visible part of the body: the partial re-identification curve.

    python tools/analysis_tools/partial_curve.py \
        --model CONFIG CHECKPOINT [--label NAME] [--model CONFIG2 CHECKPOINT2 --label NAME2 ...] \
        [--ratios 0.5 0.6 0.7 0.8 0.9 1.0] [--sides top bottom] [--out-dir DIR] \
        [--data-root ROOT] [--batch-size 64] [--device cpu] [--visibility-report] \
        [--cfg-options k=v ...] [--add-results EARLIER/partial_curve.json ...]

For every model (config + checkpoint pair) the test set of its config is embedded once,
in the test loader's order and batches (ratio 1.0 gives ``tools/test.py``'s figures),
then the queries cut to each ratio γ of the body on each side (VPM's synthetic partial
protocol: ``PartialQueryCrop``, the crop box of ``make_partial_queries.py``, inserted
after the image loading of the model's own test pipeline; nothing is written to disk).
The model's test evaluator ranks the cut queries against the holistic gallery. The tool
prints one table, writes ``partial_curve.json`` and plots rank-1 and mAP against γ
(``partial_curve.png``, one line per model and side). It reads only the predictions
(embeddings, visibility), so it works for every model. :func:`evaluate_partial` gives
the same figures as a function (the model zoo's comparison calls it).

``--visibility-report`` also compares, for models with soft region visibility (VPM), the
visibility each region is predicted on a cut query (``C_i / max_j C_j``) with the fraction
of that region the cut keeps: mean absolute error and correlation over all queries and
regions, and the predicted visible ratio ``mean_i v_i`` against γ.

``--add-results`` puts the models of earlier runs (their ``partial_curve.json``) into the
table, the JSON and the plot without evaluating them again, e.g. to add a newly trained
model to a published curve; with ``--add-results`` alone the tool only redraws.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import MMLogger
from prettytable import PrettyTable
from torch import nn

from mmreidparts.apis import init_model
from mmreidparts.registry import DATASETS, METRICS, TRANSFORMS
from mmreidparts.structures.region_grid import (
    CROP_SIDES,
    check_crop_ratio,
    region_visible_fractions,
    side_crop_box,
)
from mmreidparts.utils import register_all_modules
from mmreidparts.utils.config import read_config

DEFAULT_RATIOS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    parser = argparse.ArgumentParser(
        description='Rank-1 and mAP of one or several models against the visible ratio')
    parser.add_argument('--model', nargs=2, action='append', default=[],
                        metavar=('CONFIG', 'CHECKPOINT'), help='a model; repeat for more')
    parser.add_argument('--label', action='append', default=[],
                        help='legend label of each --model, in order (default: config name)')
    parser.add_argument('--ratios', type=float, nargs='+', default=list(DEFAULT_RATIOS),
                        help='kept fractions γ of the body, in (0, 1]')
    parser.add_argument('--sides', nargs='+', default=['top'], choices=CROP_SIDES,
                        help='sides kept by the crop (top: the upper γ of the height)')
    parser.add_argument('--out-dir', default='work_dirs/partial_curve',
                        help='folder of partial_curve.json and partial_curve.png')
    parser.add_argument('--data-root', default=None,
                        help="root of the test set for every model (the configs' otherwise)")
    parser.add_argument('--batch-size', type=int, default=None,
                        help="images per batch (default: the config's test batch size)")
    parser.add_argument('--device', default=None, help='cpu or cuda (default: cuda if any)')
    parser.add_argument('--visibility-report', action='store_true',
                        help='compare predicted region visibility with the true kept fraction')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every config, key=value pairs')
    parser.add_argument('--add-results', nargs='+', default=[], metavar='JSON',
                        help='partial_curve.json files of earlier runs whose models join '
                        'the table and the plot (not evaluated again)')
    args = parser.parse_args(argv)
    if not args.model and not args.add_results:
        parser.error('give at least one --model CONFIG CHECKPOINT (or --add-results)')
    try:
        args.ratios = sorted({check_crop_ratio(r, '--ratios') for r in args.ratios})
    except ValueError as err:
        parser.error(str(err))
    if len(args.label) > len(args.model):
        parser.error(f'{len(args.label)} --label for {len(args.model)} --model')
    if args.batch_size is not None and args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    for config, checkpoint in args.model:
        for path, what in ((config, 'config'), (checkpoint, 'checkpoint')):
            if not osp.isfile(path):
                parser.error(f'{what} file not found: {path}')
    try:
        args.earlier = [m for path in args.add_results
                        for m in load_results(path, args.sides)]
    except ValueError as err:
        parser.error(str(err))
    return args


def load_results(path: str, sides: Sequence[str]) -> List[dict]:
    """The models of an earlier run's ``partial_curve.json`` that have every side asked.

    Raises:
        ValueError: the file is missing, not a curve file, or lacks one of ``sides``.
    """
    if not osp.isfile(path):
        raise ValueError(f'--add-results: file not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        models = data['models']
        assert isinstance(models, list) and models
    except (ValueError, KeyError, TypeError, AssertionError):
        raise ValueError(f'--add-results: {path} is not a partial_curve.json (expected an '
                         'object with a non-empty "models" list)') from None
    for res in models:
        curves = res.get('curves') if isinstance(res, dict) else None
        label = res.get('label', '?') if isinstance(res, dict) else '?'
        missing = [s for s in sides if not isinstance(curves, dict) or not curves.get(s)]
        if missing:
            raise ValueError(f'--add-results: model {label!r} of {path} has no curve for '
                             f'side(s) {missing} (asked: --sides {" ".join(sides)})')
        bad = [row for s in sides for row in curves[s]
               if not isinstance(row, dict) or 'ratio' not in row or 'rank1' not in row
               or 'mAP' not in row]
        if bad:
            raise ValueError(f'--add-results: model {label!r} of {path}: every curve row '
                             f'needs "ratio", "rank1" and "mAP", got {bad[0]!r}')
        res.setdefault('visibility', None)
    return models


def _type_name(transform: dict) -> str:
    return str(transform.get('type', '')).split('.')[-1]


def build_pipeline(steps: Sequence[dict]) -> Compose:
    """Compose the transforms of a pipeline config (under the mmreidparts scope)."""
    return Compose([TRANSFORMS.build(dict(t, _scope_=t.get('_scope_', 'mmreidparts')))
                    for t in copy.deepcopy(list(steps))])


def cut_pipeline(steps: Sequence[dict], ratio: float, side: str) -> List[dict]:
    """The test pipeline with ``PartialQueryCrop(ratio, side)`` right after the image loading."""
    steps = [dict(t) for t in steps if _type_name(t) != 'PartialQueryCrop']
    names = [_type_name(t) for t in steps]
    if 'LoadReIDImage' not in names:
        raise ValueError('the test pipeline has no LoadReIDImage transform to cut after')
    steps.insert(names.index('LoadReIDImage') + 1,
                 dict(type='PartialQueryCrop', ratio=ratio, side=side))
    return steps


class TestSet:
    """The records of a config's test set (in the test loader's order) and its pipeline."""

    def __init__(self, cfg: Config) -> None:
        ds_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
        self.steps = [dict(t) for t in ds_cfg.get('pipeline', [])
                      if _type_name(t) != 'PartialQueryCrop']
        ds_cfg['pipeline'] = []
        self.dataset = DATASETS.build(ds_cfg)
        self.records = [self.dataset.get_data_info(i) for i in range(len(self.dataset))]
        self.queries = [r for r in self.records if r.get('is_query')]
        num_gallery = len(self.records) - len(self.queries)
        if not self.queries or not num_gallery:
            raise ValueError(f'the test set of {cfg.filename} needs queries and gallery '
                             f'images, got {len(self.queries)} and {num_gallery}')


def embed(model: nn.Module, records: Sequence[dict], pipeline: Compose,
          batch_size: int) -> List:
    """Predicted data samples of ``records`` through ``pipeline``, in order."""
    out = []
    for start in range(0, len(records), batch_size):
        batch = [pipeline(copy.deepcopy(r)) for r in records[start:start + batch_size]]
        with torch.no_grad():
            out.extend(model.test_step(pseudo_collate(batch)))
    return out


def region_visibility_of(model: nn.Module) -> Optional[Tuple[int, int]]:
    """The region grid of a model with soft region visibility (VPM), else None."""
    head = getattr(model, 'head', None)
    grid = getattr(head, 'region_grid', None)
    if grid is None or getattr(head, 'visibility_type', None) != 'soft':
        return None
    return tuple(grid)


def visibility_stats(samples: Sequence, grid: Tuple[int, int], ratio: float,
                     side: str) -> Dict[str, float]:
    """MAE and correlation of predicted region visibility against the kept fractions."""
    pred, true = [], []
    for sample in samples:
        h, w = sample.metainfo['ori_shape'][:2]
        box = side_crop_box(h, w, ratio, side) if ratio < 1 else (0, 0, w, h)
        true.append(region_visible_fractions(grid, (h, w), box))
        pred.append(sample.visibility.float().cpu().numpy())
    pred, true = np.stack(pred), np.stack(true)  # [Q, p]
    corr = None  # undefined when either side is constant (e.g. uncut queries)
    if pred.std() > 1e-9 and true.std() > 1e-9:
        corr = float(np.corrcoef(pred.ravel(), true.ravel())[0, 1])
    return dict(mae=float(np.abs(pred - true).mean()), corr=corr,
                pred_ratio=float(pred.mean()), true_ratio=float(true.mean()))


def load_model(config: str, checkpoint: str,
               args: argparse.Namespace) -> Tuple[Config, nn.Module]:
    """The config (with the command line's overrides) and its model with the checkpoint."""
    cfg = read_config(config, args.cfg_options)
    if args.data_root:
        cfg.test_dataloader.dataset.data_root = args.data_root
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    return cfg, init_model(cfg, checkpoint, device=device)


def model_curves(cfg: Config, model: nn.Module, ratios: Sequence[float],
                 sides: Sequence[str], batch_size: Optional[int] = None,
                 visibility_report: bool = False) -> dict:
    """Curves (and the visibility report) of one model.

    The whole test set is embedded once in the test loader's order and batches (as
    ``tools/test.py`` does, so ratio 1.0 gives its figures); its gallery serves every ratio,
    and the cut queries of each ratio below 1 and side are embedded on their own.
    """
    test_set = TestSet(cfg)
    batch_size = batch_size or int(cfg.test_dataloader.get('batch_size', 64))
    evaluator = cfg.test_evaluator
    if isinstance(evaluator, (list, tuple)):
        evaluator = evaluator[0]
    metric = METRICS.build(copy.deepcopy(dict(evaluator)))
    metric.dataset_meta = test_set.dataset.metainfo

    def results_of(samples: List) -> List[dict]:
        metric.results = []
        metric.process({}, samples)
        return metric.results

    everything = embed(model, test_set.records, build_pipeline(test_set.steps), batch_size)
    holistic_queries = [s for s in everything if s.metainfo.get('is_query')]
    gallery = results_of([s for s in everything if not s.metainfo.get('is_query')])
    holistic = metric.compute_metrics(results_of(holistic_queries) + gallery)
    grid = region_visibility_of(model)
    curves: Dict[str, List[dict]] = {side: [] for side in sides}
    visibility: Dict[str, List[dict]] = {side: [] for side in sides}
    for side in sides:
        for ratio in ratios:
            if ratio == 1.0:
                samples, metrics = holistic_queries, holistic
            else:
                steps = cut_pipeline(test_set.steps, ratio, side)
                samples = embed(model, test_set.queries, build_pipeline(steps), batch_size)
                metrics = metric.compute_metrics(results_of(samples) + gallery)
            curves[side].append(dict(ratio=ratio, **{k: float(v) for k, v in metrics.items()}))
            if visibility_report and grid is not None:
                visibility[side].append(dict(ratio=ratio,
                                             **visibility_stats(samples, grid, ratio, side)))
    return dict(num_queries=len(test_set.queries),
                num_gallery=len(test_set.records) - len(test_set.queries),
                region_grid=list(grid) if grid else None, curves=curves,
                visibility=visibility if grid is not None else None)


def evaluate_partial(models: Sequence[Tuple[str, str]],
                     ratios: Sequence[float] = DEFAULT_RATIOS,
                     side: str = 'top',
                     *,
                     cfg_options: Optional[dict] = None,
                     device: str = 'cpu',
                     batch_size: Optional[int] = None) -> List[Dict[float, Dict[str, float]]]:
    """``{ratio: metrics}`` of every ``(config, checkpoint)`` pair, queries cut in memory.

    Ratio 1.0 is the original queries; the gallery is never cut. Nothing is written.
    """
    register_all_modules()
    ratios = [round(check_crop_ratio(r, 'crop ratios'), 4) for r in ratios]
    args = argparse.Namespace(cfg_options=cfg_options, data_root=None, device=device)
    out = []
    for config, checkpoint in models:
        cfg, model = load_model(config, checkpoint, args)
        res = model_curves(cfg, model, ratios, [side], batch_size)
        out.append({row['ratio']: {k: v for k, v in row.items() if k != 'ratio'}
                    for row in res['curves'][side]})
    return out


def _rank_order(key: str) -> Tuple[int, str]:
    """Sort 'rank1', 'rank5', 'rank10' by their number."""
    tail = key[4:]
    return (int(tail) if tail.isdigit() else 1 << 30, key)


def format_tables(results: List[dict], sides: Sequence[str]) -> str:
    """The curves (and visibility reports) as text tables."""
    table = PrettyTable()
    found = {k for res in results for side in sides for row in res['curves'][side] for k in row}
    keys = sorted((k for k in found if k.startswith('rank')), key=_rank_order) \
        + [k for k in ('mAP', 'mINP') if k in found]
    table.field_names = ['model', 'side', 'ratio'] + keys
    for res in results:
        for side in sides:
            for row in sorted(res['curves'][side], key=lambda r: r['ratio']):
                table.add_row([res['label'], side, f'{row["ratio"]:.2f}'] +
                              [f'{row[k]:.2f}' if k in row else '-' for k in keys])
    text = table.get_string()
    vis_rows = [(res, side, row) for res in results if res.get('visibility')
                for side in sides for row in res['visibility'][side]]
    if vis_rows:
        vis = PrettyTable()
        vis.field_names = ['model', 'side', 'ratio', 'MAE', 'corr', 'pred. ratio', 'true ratio']
        for res, side, row in vis_rows:
            corr = '-' if row['corr'] is None else f'{row["corr"]:.3f}'
            vis.add_row([res['label'], side, f'{row["ratio"]:.2f}', f'{row["mae"]:.3f}',
                         corr, f'{row["pred_ratio"]:.3f}',
                         f'{row["true_ratio"]:.3f}'])
        text += '\nPredicted region visibility against the kept fraction of each region:\n'
        text += vis.get_string()
    return text


def plot(results: List[dict], sides: Sequence[str], path: str) -> None:
    """Rank-1 and mAP against the visible ratio, one line per model and side."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    styles = ['-', '--', ':', '-.']
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for m, res in enumerate(results):
        for s, side in enumerate(sides):
            rows = sorted(res['curves'][side], key=lambda r: r['ratio'])
            label = res['label'] if len(sides) == 1 else f'{res["label"]} ({side})'
            for ax, key in zip(axes, ('rank1', 'mAP')):
                ax.plot([r['ratio'] for r in rows], [r.get(key, np.nan) for r in rows],
                        linestyle=styles[s % len(styles)], marker='o', color=f'C{m % 10}',
                        label=label)
    for ax, title in zip(axes, ('rank-1 (%)', 'mAP (%)')):
        ax.set_xlabel('visible ratio γ of the query')
        ax.set_ylabel(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Evaluate every model at every ratio and side; print, save the JSON and the plot."""
    args = parse_args(argv)
    register_all_modules()
    # the evaluator's own table of every evaluation would drown the tool's
    MMLogger.get_instance('partial_curve', log_level='WARNING')
    labels = [args.label[i] if i < len(args.label) else osp.splitext(osp.basename(c))[0]
              for i, (c, _) in enumerate(args.model)]
    models = [load_model(config, checkpoint, args) for config, checkpoint in args.model]
    if args.visibility_report:
        without = [lb for lb, (_, m) in zip(labels, models) if region_visibility_of(m) is None]
        if len(without) == len(models) and not any(r.get('visibility') for r in args.earlier):
            sys.exit('--visibility-report: none of the models predicts soft region '
                     'visibility (a head with a region grid and visibility_type "soft", '
                     f'e.g. VPMHead); got {", ".join(without)}')
        for label in without:
            print(f'{label}: no soft region visibility, left out of the visibility report')
    results = list(args.earlier)
    for label, (config, checkpoint), (cfg, model) in zip(labels, args.model, models):
        res = dict(label=label, config=config, checkpoint=checkpoint)
        res.update(model_curves(cfg, model, args.ratios, args.sides, args.batch_size,
                                args.visibility_report))
        results.append(res)
    os.makedirs(args.out_dir, exist_ok=True)
    print(format_tables(results, args.sides))
    out_json = osp.join(args.out_dir, 'partial_curve.json')
    with open(out_json, 'w', encoding='utf-8') as f:
        json.dump(dict(ratios=args.ratios, sides=args.sides, models=results), f, indent=2)
    out_png = osp.join(args.out_dir, 'partial_curve.png')
    plot(results, args.sides, out_png)
    print(f'wrote {out_json} and {out_png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
