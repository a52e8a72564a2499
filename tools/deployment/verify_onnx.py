"""Check an exported model against PyTorch on the config's test set.

    python tools/deployment/verify_onnx.py CONFIG CHECKPOINT [--onnx model.onnx] \
        [--tol 1e-4] [--metric-tol 0.1] [--out report.json] [--cfg-options k=v ...]

Exports CHECKPOINT (unless ``--onnx`` names an export), then runs the test set through
the PyTorch model and through onnxruntime (``ONNXReIDModel``), batch by batch on the same
inputs, and evaluates both with the config's evaluator (as ``tools/test.py`` does).
Prints the max ``|diff|`` of the embeddings and of the visibility and both metric pairs
(rank-1, mAP); exits with 1 when the embeddings differ by more than ``--tol`` or a metric
by more than ``--metric-tol``.
"""
import argparse
import copy
import json
import os.path as osp
import sys
import tempfile
from typing import Dict, Optional, Sequence

import torch
from mmengine.config import DictAction
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import load_config  # noqa: E402

from mmreidparts.apis import init_model  # noqa: E402
from mmreidparts.deployment import ONNXReIDModel, export_model_file  # noqa: E402
from mmreidparts.utils import register_all_modules  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='ONNX export against PyTorch on a test set')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--onnx', default=None, help='an exported model (default: export now)')
    parser.add_argument('--tol', type=float, default=1e-4,
                        help='largest allowed |diff| of the embeddings')
    parser.add_argument('--metric-tol', type=float, default=0.1,
                        help='largest allowed difference of rank-1 and mAP (percent)')
    parser.add_argument('--out', default=None, help='write the figures to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


@torch.no_grad()
def compare(model: torch.nn.Module, onnx_model: ONNXReIDModel, cfg) -> Dict[str, float]:
    """Run both models on the test set; return the diffs and both metric sets."""
    loader = Runner.build_dataloader(cfg.test_dataloader)
    evaluators = [Evaluator(copy.deepcopy(cfg.test_evaluator)) for _ in range(2)]
    for evaluator in evaluators:
        evaluator.dataset_meta = loader.dataset.metainfo
    emb_diff = vis_diff = 0.0
    flips = 0
    from tqdm import tqdm
    for batch in tqdm(loader, desc='PyTorch and onnxruntime', unit='batch'):
        pt = model.test_step(copy.deepcopy(batch))
        ox = onnx_model.test_step(batch)
        for a, b in zip(pt, ox):
            gap = (a.embeddings.float().cpu() - b.embeddings).abs().max()
            emb_diff = max(emb_diff, float(gap))
            delta = (a.visibility.float().cpu() - b.visibility).abs()
            vis_diff = max(vis_diff, float(delta.max()))
            flips += int((delta > 0.5).sum())
        evaluators[0].process(pt, batch)
        evaluators[1].process(ox, batch)
    size = len(loader.dataset)
    metrics = [e.evaluate(size) for e in evaluators]
    out = dict(max_diff_embeddings=emb_diff, max_diff_visibility=vis_diff,
               visibility_flips=flips, images=size)
    for tag, m in zip(('pytorch', 'onnx'), metrics):
        for key in ('rank1', 'mAP'):
            out[f'{tag}_{key}'] = float(m[f'reid/{key}'])
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Export (or read) the ONNX model, compare, print, return 0 when within tolerance."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    register_all_modules(init_default_scope=True)
    model = init_model(cfg, args.checkpoint, device='cpu')
    with tempfile.TemporaryDirectory() as tmp:
        path = args.onnx
        if path is None:
            path, _ = export_model_file(model, osp.join(tmp, 'model.onnx'),
                                        source=dict(config=osp.basename(args.config),
                                                    checkpoint=osp.basename(args.checkpoint)))
        result = compare(model, ONNXReIDModel(path), cfg)
    gaps = [abs(result[f'pytorch_{k}'] - result[f'onnx_{k}']) for k in ('rank1', 'mAP')]
    ok = result['max_diff_embeddings'] <= args.tol and max(gaps) <= args.metric_tol
    result['ok'] = ok
    print(f'[verify] {osp.basename(args.config)}: {result["images"]} test images')
    print(f'[verify] max |diff| embeddings {result["max_diff_embeddings"]:.3g} (tol '
          f'{args.tol:g}), visibility {result["max_diff_visibility"]:.3g} '
          f'({result["visibility_flips"]} flipped)')
    print(f'[verify] PyTorch rank-1 {result["pytorch_rank1"]:.2f} mAP {result["pytorch_mAP"]:.2f}'
          f' | ONNX rank-1 {result["onnx_rank1"]:.2f} mAP {result["onnx_mAP"]:.2f}')
    print(f'[verify] {"PASS" if ok else "FAIL"}')
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
