"""Train a re-identification model from a config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|PATH]] [--amp]
                                 [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

Distributed: ``tools/dist_train.sh CONFIG GPUS`` (torchrun). On machines without a GPU the
processes use the gloo backend and the CPU.
"""
import argparse
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import apply_launcher, finish_distributed, load_config  # noqa: E402

from mmreidparts.engine.optim_wrappers import resolve_cpu_amp  # noqa: E402
from mmreidparts.utils import (  # noqa: E402
    CheckpointError,
    find_resumable_checkpoint,
    read_checkpoint,
)
from mmreidparts.utils.config import config_errors  # noqa: E402


def parse_args() -> argparse.Namespace:
    """Command-line arguments (OpenMMLab conventions)."""
    parser = argparse.ArgumentParser(description='Train a ReID model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint; without a value, from the latest '
        'checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision training: float16 with loss scaling on CUDA, '
                        'bfloat16 autocast on a CPU')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate with the total batch size')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
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


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line switches to the config."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        if not torch.cuda.is_available():
            use_amp, message = resolve_cpu_amp(True)
            if message:
                print(f'[train] {message}')
            if use_amp:
                print('[train] --amp without CUDA: bfloat16 autocast on the CPU '
                      '(CPUAutocastOptimWrapper)')
                cfg.optim_wrapper.type = 'CPUAutocastOptimWrapper'
                cfg.optim_wrapper.setdefault('dtype', 'bfloat16')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True
    if args.seed is not None:
        cfg.setdefault('randomness', {})['seed'] = args.seed
    cfg.launcher = args.launcher
    return cfg


def resolve_resume(cfg: Config, args: argparse.Namespace) -> None:
    """Check the checkpoint to resume from; ``--resume auto`` skips unreadable ones.

    ``auto`` takes the newest readable checkpoint of the work dir (the one
    ``last_checkpoint`` names, else the previous ``epoch_N.pth``), naming every file it
    skips; it stops when checkpoints exist but none can be read, rather than restart
    from scratch. An explicit checkpoint that cannot be read stops with its name.
    """
    if args.resume is None:
        return
    if args.resume != 'auto':
        read_checkpoint(args.resume)  # CheckpointError naming the file
        return
    path, skipped = find_resumable_checkpoint(cfg.work_dir)
    for bad, why in skipped:
        print(f'[train] --resume: skipping {bad}: {why}', file=sys.stderr)
    if path is None and skipped:
        raise CheckpointError(
            f'--resume: no readable checkpoint in {cfg.work_dir}; unreadable: ' +
            '; '.join(bad for bad, _ in skipped) + '. Remove them to train from scratch.')
    if path is not None:
        if skipped:
            print(f'[train] --resume: resuming from {path}', file=sys.stderr)
        cfg.load_from = path


def main() -> None:
    """Build the runner and train."""
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    cfg = merge_args(cfg, args)
    resolve_resume(cfg, args)
    apply_launcher(cfg, args.launcher)
    try:
        with config_errors(cfg):
            runner = Runner.from_cfg(cfg)
            runner.train()
    finally:
        finish_distributed()


if __name__ == '__main__':
    main()
