"""Export the test graph of a ReID model to ONNX.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --out model.onnx \
        [--opset 17] [--shape H W] [--cfg-options k=v ...]

The graph is ``ReIDModel.predict_tensors`` (the same for every method): input ``images``
``[N, 3, H, W]`` float32 after the data preprocessor, outputs ``embeddings [N, P, D]`` and
``visibility [N, P]``, dynamic N; the test-time flip is included when the config sets
``model.test_cfg.flip``. The metadata holds the embedding names, the preprocessing
(mean, std, channel order, input size, test pipeline), the test config and the
evaluator's distance. After export the graph is run by onnxruntime on a batch of 3 and
compared with PyTorch (``--no-check`` skips it). Needs the ``deploy`` extra (onnx,
onnxruntime). Evaluate the exported model with ``tools/test.py CONFIG model.onnx``.
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import load_config  # noqa: E402

from mmreidparts.apis import init_model  # noqa: E402
from mmreidparts.deployment import export_model_file, onnx_max_diff  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='Export a ReID model to ONNX')
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='checkpoint (.pth); "none" for random weights')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), default=None,
                        help='input size (default: what the test pipeline gives)')
    parser.add_argument('--no-check', action='store_true',
                        help='do not compare onnxruntime with PyTorch after export')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Export, then check the graph against PyTorch."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model = init_model(cfg, checkpoint, device='cpu')
    path, meta = export_model_file(model, args.out, input_size=args.shape, opset=args.opset,
                                   source=dict(config=osp.basename(args.config),
                                               checkpoint=osp.basename(args.checkpoint)))
    h, w = meta['preprocess']['input_size']
    print(f'[export] {path}: images [N, 3, {h}, {w}] -> embeddings [N, '
          f'{len(meta["embedding_names"])}, D], visibility; flip '
          f'{bool(meta["test_cfg"].get("flip"))}; names {meta["embedding_names"]}')
    if not args.no_check:
        torch.manual_seed(0)
        emb, vis = onnx_max_diff(model, path, torch.randn(3, 3, h, w))
        print(f'[export] onnxruntime vs PyTorch on a random batch of 3: max |diff| '
              f'embeddings {emb:.3g}, visibility {vis:.3g}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
