"""Pre-train a part stream offline: distil the label generator's pose model into it.

    python tools/pretrain_part_stream.py CONFIG --out part_stream.pth \\
        [--data-root DIR] [--label-dir DIR] [--keypoint-dir DIR] [--iters N] [--amp] \\
        [--work-dir DIR] [--cfg-options k=v ...]

Without internet no pose network can be downloaded for the part stream of the
part-aligned bilinear model. The project's label generator, however, runs a pose model
(mediapipe) offline and writes, for any Market-format dataset, part label maps and, with
``--save-keypoints``, the COCO keypoints it found. A distillation config
(``configs/part_bilinear/posedistill_*.py``: the stream as the backbone, a
``PoseDistillHead``) is trained with mmengine's runner to predict both; then the stream's
weights alone are written to ``--out`` (a plain state dict + JSON meta, read with
``weights_only=True``), in the stream's own layout, for
``--cfg-options model.backbone.part.pretrained=<out>`` of a bilinear config.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _common import load_config  # noqa: E402
from train import merge_args  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description='Distil the part labels and keypoints of the '
                                'label generator into a part stream')
    p.add_argument('config', help='distillation config (configs/part_bilinear/posedistill_*)')
    p.add_argument('--out', required=True, help='where to write the part stream weights')
    p.add_argument('--data-root', default=None, help='Market-format dataset root')
    p.add_argument('--label-dir', default=None,
                   help='part label root (<dir>/<scheme>/<split>/<stem>.png), absolute or '
                   'relative to the data root')
    p.add_argument('--keypoint-dir', default=None,
                   help='folder of the COCO keypoint files <split>.json (default '
                   '<data root>/keypoints)')
    p.add_argument('--iters', type=int, default=None, help='training iterations')
    p.add_argument('--amp', action='store_true', help='bfloat16 autocast on a CPU')
    p.add_argument('--work-dir', default=None, help='logs and checkpoints')
    p.add_argument('--seed', type=int, default=None, help='random seed')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override settings of the config, key=value pairs')
    args = p.parse_args(argv)
    if args.iters is not None and args.iters < 1:
        p.error('--iters must be >= 1')
    return args


def apply_data_options(cfg: Config, args: argparse.Namespace) -> Config:
    """Point the training data at ``--data-root``, ``--label-dir`` and ``--keypoint-dir``."""
    dataset = cfg.train_dataloader.dataset
    if args.data_root is not None:
        dataset.data_root = args.data_root
    if args.label_dir is not None:
        dataset.part_labels.label_dir = args.label_dir
    steps = [t for t in dataset.pipeline if str(t['type']).split('.')[-1] == 'LoadKeypoints']
    if not steps:
        raise ValueError(f'{args.config}: the training pipeline has no LoadKeypoints step; '
                         'is it a distillation config?')
    if args.keypoint_dir is not None:
        for step in steps:
            step['keypoint_dir'] = osp.abspath(args.keypoint_dir)
    if args.iters is not None:
        cfg.train_cfg.max_iters = args.iters
        for sched in cfg.get('param_scheduler', None) or []:
            if 'end' in sched:
                sched['end'] = min(sched['end'], args.iters)
            if 'begin' in sched:
                sched['begin'] = min(sched['begin'], max(args.iters - 1, 0))
    return cfg


def export_stream(model: torch.nn.Module, path: str, meta: dict) -> dict:
    """Write the backbone (the part stream) of ``model`` as a plain state dict + meta."""
    state = {k: v.detach().cpu() for k, v in model.backbone.state_dict().items()}
    json.dumps(meta)  # raises if not JSON-able
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), path)
    return dict(meta, tensors=len(state))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Train the distillation model and write the part stream's weights."""
    args = parse_args(argv)
    cfg = apply_data_options(load_config(args.config, args.cfg_options), args)
    train_args = argparse.Namespace(
        config=args.config, work_dir=args.work_dir, amp=args.amp, resume=None,
        no_validate=True, auto_scale_lr=False, seed=args.seed, launcher='none')
    cfg = merge_args(cfg, train_args)
    runner = Runner.from_cfg(cfg)
    runner.train()
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    meta = dict(
        kind='part_stream', config=osp.basename(args.config),
        stream=cfg.model.backbone.get('type'), iters=int(cfg.train_cfg.max_iters),
        data_root=cfg.train_dataloader.dataset.data_root,
        part_scheme=cfg.model.head.get('part_scheme'),
        amp=cfg.optim_wrapper.get('type') in ('CPUAutocastOptimWrapper', 'AmpOptimWrapper'))
    info = export_stream(model, args.out, meta)
    print(json.dumps(info, indent=2))
    print(f'part stream weights: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
