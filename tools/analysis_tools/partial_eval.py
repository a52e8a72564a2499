"""ReID metrics with partial queries: every query cropped to a ratio of the body (VPM).

    python tools/analysis_tools/partial_eval.py CONFIG CHECKPOINT [CONFIG CHECKPOINT ...]
        [--ratios 1.0 0.9 0.8 0.7 0.6 0.5] [--side top] [--work-dir DIR] [--out curve.json]

The interface the model zoo's comparison calls (``tools/model_zoo.py compare``)::

    evaluate_partial(models, ratios, side='top', *, cfg_options=None, work_dir=None,
                     device='cpu', batch_size=None, seed=0) -> List[Dict[float, Dict[str, float]]]

``models`` is a sequence of ``(config, checkpoint)`` pairs; the result holds, for each pair in
order, ``{ratio: metrics}`` where metrics are the config's evaluator figures in percent
(``rank1``, ``rank5``, ``rank10``, ``mAP``, ``mINP``). Ratio 1.0 ranks the original queries.
Another implementation with this signature (e.g. ``partial_curve.py``) can take its place.

The queries of a ratio are those of ``make_partial_queries`` (tools/dataset_converters/
make_partial_queries.py, seed 0): a Market-format copy of the config's test set with every
query cropped to the kept fraction of its height (``side='top'`` keeps the upper part), the
gallery linked unchanged. The copies are written once under ``work_dir`` and reused. Each
model embeds the test set once (as tools/test.py does, so ratio 1.0 gives its figures) and
the cropped queries of every other ratio.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

from mmreidparts.apis import init_model
from mmreidparts.datasets.partial_protocol import MANIFEST, make_partial_queries
from mmreidparts.registry import DATASETS, METRICS
from mmreidparts.utils import register_all_modules
from mmreidparts.utils.config import read_config

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from eval_query_subset import embed  # noqa: E402

DEFAULT_RATIOS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)


def partial_root(src_root: str, ratio: float, side: str, work_dir: str, seed: int = 0) -> str:
    """The copy of ``src_root`` with queries cropped to ``ratio`` (written on first use)."""
    name = f'{osp.basename(osp.normpath(src_root))}_{side}{int(round(ratio * 100)):03d}_s{seed}'
    root = osp.join(work_dir, name)
    manifest = osp.join(root, MANIFEST)
    if osp.isfile(manifest):
        with open(manifest, encoding='utf-8') as f:
            made = json.load(f)
        if (made.get('source'), made.get('ratio'), made.get('side'), made.get('seed')) == (
                osp.abspath(src_root), ratio, side, seed):
            return root
    make_partial_queries(src_root, root, ratio=ratio, side=side, seed=seed, overwrite=True)
    return root


def metrics_of(evaluator: dict, samples: List, dataset_meta: dict) -> Dict[str, float]:
    """The evaluator's figures of query and gallery ``samples``."""
    metric = METRICS.build(copy.deepcopy(evaluator))
    metric.dataset_meta = dataset_meta
    metric.process({}, samples)
    return {k: float(v) for k, v in metric.compute_metrics(metric.results).items()}


def _split(ds_cfg: dict, mode: str, data_root: Optional[str] = None):
    """One split ('query' or 'gallery') of the config's test dataset."""
    cfg = copy.deepcopy(ds_cfg)
    cfg['mode'] = mode
    if data_root is not None:
        cfg['data_root'] = data_root
    return DATASETS.build(cfg)


def evaluate_partial(models: Sequence[Tuple[str, str]],
                     ratios: Sequence[float] = DEFAULT_RATIOS,
                     side: str = 'top',
                     *,
                     cfg_options: Optional[dict] = None,
                     work_dir: Optional[str] = None,
                     device: str = 'cpu',
                     batch_size: Optional[int] = None,
                     seed: int = 0) -> List[Dict[float, Dict[str, float]]]:
    """Metrics of every ``(config, checkpoint)`` pair at every crop ratio (see module doc)."""
    register_all_modules()
    work_dir = work_dir or tempfile.mkdtemp(prefix='partial_queries_')
    os.makedirs(work_dir, exist_ok=True)
    out = []
    for config, checkpoint in models:
        cfg = read_config(config, cfg_options)
        model = init_model(cfg, checkpoint, device=device)
        ds_cfg = cfg.test_dataloader.dataset.to_dict()
        src_root = osp.abspath(ds_cfg['data_root'])
        evaluator = cfg.test_evaluator
        evaluator = dict(evaluator[0] if isinstance(evaluator, (list, tuple)) else evaluator)
        batch = batch_size or int(cfg.test_dataloader.get('batch_size', 128))
        # the whole test set as tools/test.py embeds it (same order and batches); its gallery
        # serves every ratio
        test_set = DATASETS.build(copy.deepcopy(ds_cfg))
        holistic, _ = embed(model, test_set, batch)
        gallery = [s for s in holistic if not s.metainfo.get('is_query')]
        figures: Dict[float, Dict[str, float]] = {}
        for ratio in ratios:
            ratio = round(float(ratio), 4)
            if not 0 < ratio <= 1:
                raise ValueError(f'crop ratios must be in (0, 1], got {ratio}')
            if ratio == 1.0:
                samples = holistic
            else:
                root = partial_root(src_root, ratio, side, work_dir, seed)
                samples = embed(model, _split(ds_cfg, 'query', root), batch)[0] + gallery
            figures[ratio] = metrics_of(evaluator, samples, test_set.metainfo)
        out.append(figures)
    return out


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the tool."""
    parser = argparse.ArgumentParser(description='ReID metrics with partial queries')
    parser.add_argument('pairs', nargs='+', help='CONFIG CHECKPOINT [CONFIG CHECKPOINT ...]')
    parser.add_argument('--ratios', type=float, nargs='+', default=list(DEFAULT_RATIOS))
    parser.add_argument('--side', default='top', choices=['top', 'bottom', 'left', 'right'])
    parser.add_argument('--work-dir', default=None, help='where the partial copies go')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', default=None, help='write the figures to this JSON file')
    args = parser.parse_args(argv)
    if len(args.pairs) % 2:
        parser.error('give CONFIG CHECKPOINT pairs')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Evaluate the pairs and print rank-1 / mAP per ratio."""
    args = parse_args(argv)
    pairs = list(zip(args.pairs[::2], args.pairs[1::2]))
    results = evaluate_partial(pairs, args.ratios, args.side, work_dir=args.work_dir,
                               device=args.device)
    for (config, ckpt), figures in zip(pairs, results):
        print(f'{config} {ckpt}')
        for ratio, m in figures.items():
            print(f'  {args.side} {ratio:.2f}: rank-1 {m["rank1"]:.2f}  mAP {m["mAP"]:.2f}')
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump([dict(config=c, checkpoint=k, figures={str(r): m for r, m in fig.items()})
                       for (c, k), fig in zip(pairs, results)], f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
