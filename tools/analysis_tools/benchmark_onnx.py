"""Images per second of onnxruntime against PyTorch, on the CPU, for a config.

    python tools/analysis_tools/benchmark_onnx.py CONFIG [--checkpoint CKPT] \
        [--batch-sizes 1 32] [--iters 10] [--warmup 2] [--threads 2]

The test graph (``predict_tensors``, flip included when configured) is exported to a
temporary file and both runtimes embed the same random, already normalised batches; the
weights do not change the speed, so without a checkpoint the model is randomly
initialised (no pretrained file is read). Both use ``--threads`` threads. Prints one
line per batch size: images/s of each and their ratio. A timing, not a test: run it on
an idle machine (or nice'd, and say the load).
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Callable, Optional, Sequence

import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import load_config  # noqa: E402

from mmreidparts.apis import init_model  # noqa: E402
from mmreidparts.deployment import ONNXReIDModel, export_model_file  # noqa: E402
from mmreidparts.utils import strip_pretrained  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description='onnxruntime vs PyTorch throughput')
    parser.add_argument('config')
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 32])
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS',
                                                                           '2')))
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def images_per_second(run: Callable[[], object], batch: int, iters: int, warmup: int) -> float:
    """Throughput of ``run`` (one batch per call) after ``warmup`` calls."""
    for _ in range(warmup):
        run()
    start = time.perf_counter()
    for _ in range(iters):
        run()
    return batch * iters / (time.perf_counter() - start)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Export, then time both runtimes at each batch size."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.cfg_options)
    if args.checkpoint is None:
        cfg.model = strip_pretrained(cfg.model.to_dict())
    model = init_model(cfg, args.checkpoint, device='cpu')
    with tempfile.TemporaryDirectory() as tmp:
        path, meta = export_model_file(model, osp.join(tmp, 'model.onnx'))
        onnx_model = ONNXReIDModel(path, num_threads=args.threads)
        h, w = meta['preprocess']['input_size']
        print(f'[benchmark] {osp.basename(args.config)}: input {h}x{w}, '
              f'{len(meta["embedding_names"])} embeddings, flip '
              f'{bool(meta["test_cfg"].get("flip"))}, {args.threads} threads, '
              f'load average {os.getloadavg()[0]:.1f}')
        for batch in args.batch_sizes:
            x = torch.randn(batch, 3, h, w)
            with torch.inference_mode():
                pt = images_per_second(lambda: model.predict_tensors(x), batch, args.iters,
                                       args.warmup)
            ox = images_per_second(lambda: onnx_model.predict_tensors(x), batch, args.iters,
                                   args.warmup)
            print(f'[benchmark] batch {batch:3d}: PyTorch {pt:8.1f} img/s, onnxruntime '
                  f'{ox:8.1f} img/s, ratio {ox / pt:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
