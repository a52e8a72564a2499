"""Evaluate a trained re-identification model.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.json]
                         [--dump features.pt] [--cfg-options k=v ...]
                         [--launcher none|pytorch]

The checkpoint is checked against the model built from the config first: a checkpoint
of another model stops with a message listing the mismatching tensors. A CHECKPOINT
ending in ``.onnx`` (``tools/deployment/pytorch2onnx.py``) is run by onnxruntime
(``ONNXReIDModel``) on the config's test data, through the same evaluator.
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch
from mmengine.config import DictAction
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import apply_launcher, finish_distributed, load_config  # noqa: E402

from mmreidparts.utils import load_reid_checkpoint  # noqa: E402
from mmreidparts.utils.config import config_errors  # noqa: E402


def parse_args() -> argparse.Namespace:
    """Command-line arguments (OpenMMLab conventions)."""
    parser = argparse.ArgumentParser(description='Test a ReID model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument('--dump', help='also write the embeddings of every test image to this '
                        'feature file (.pt; rank it again with '
                        'tools/analysis_tools/rank_features.py)')
    parser.add_argument('--non-strict', action='store_true',
                        help='load a checkpoint whose tensors only partly match the model')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs (xxx=yyy)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    """Build the runner, load the checkpoint safely and run the test loop."""
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = None
    cfg.resume = False
    onnx = args.checkpoint.endswith('.onnx')
    if onnx:
        if args.launcher != 'none':
            raise ValueError('an exported .onnx model is evaluated in one process: use '
                             '--launcher none')
        cfg.model = dict(type='ONNXReIDModel', onnx_file=args.checkpoint,
                         device='cuda' if torch.cuda.is_available() else 'cpu')
    if args.dump:
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        cfg.test_evaluator = evaluators + [
            dict(type='DumpReIDFeatures', out_file=args.dump, evaluator=evaluators[0])]
    apply_launcher(cfg, args.launcher)
    with config_errors(cfg):
        runner = Runner.from_cfg(cfg)
    if not onnx:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        ignore = tuple(cfg.get('test_ignore_prefixes', ()))
        load_reid_checkpoint(model, args.checkpoint, strict=not args.non_strict,
                             ignore_prefixes=ignore)
    runner._has_loaded = True
    try:
        with config_errors(cfg):
            metrics = runner.test()
        if args.out and runner.rank == 0:
            with open(args.out, 'w', encoding='utf-8') as f:
                json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
    finally:
        finish_distributed()


if __name__ == '__main__':
    main()
