"""Training throughput of a config's model next to its bare backbone, on random inputs.

Example (BPBreID-RN on Occluded-Duke, 8 images per batch, 2 CPU threads):

    python tools/analysis_tools/benchmark_train.py \
        configs/bpbreid/bpbreid_r50_1xb64_occluded_duke.py --batch-size 8 --threads 2

Two steps are timed on the same random batch at the config's input size:

- ``full``: one whole training step, as the runner does it: data preprocessor, backbone,
  head, losses, backward and the config's optimizer step;
- ``backbone``: the bare backbone's forward and backward on the preprocessed images,
  with a fixed random projection of its output maps as the loss (no optimizer step);
- ``optimizer``: the optimizer step alone (on the gradients of the last full step), so
  that the cost of the head, pooling and losses can be told apart from it;
- ``head``: the head alone, forward (pooling, embeddings) and losses and backward down to
  the feature map, on backbone features computed once: the direct measure of what the
  head, pooling and losses cost, free of the run-to-run noise of the backbone's time that
  the difference ``full - backbone`` carries;
- ``stream`` (with ``--stream NAME``): one sub-network of the backbone alone, forward and
  backward on the preprocessed images (e.g. ``--stream appearance`` times the appearance
  stream of a two-stream model, ``model.backbone.appearance``), for the cost of a model
  against its single-stream counterpart.

For a model with training-only heads (``ReIDModel.aux_heads``, e.g. the part segmentation
head of part awareness learning) four more steps tell their cost:

- ``full_no_aux``: the same full step of the same model with its aux heads switched off
  (the training cost of the aux heads is ``full - full_no_aux``);
- ``aux``: the aux heads alone, forward, losses and backward on backbone features;
- ``predict`` and ``predict_no_aux``: the test-time forward (``model.predict``, eval mode,
  no gradients) with and without the aux heads attached, and how many times an aux head
  ran during ``predict`` (0: they are not in the test graph).

The batch holds random images, identity labels in the PK layout of the identity sampler
(``batch / num_instances`` identities, ``num_instances`` images each) and, for part-based
heads (or aux heads with ``num_classes`` part classes), random part label maps with ids
``0..K`` (and random keypoints for heads that regress them); for heads with a region grid
(VPM), the region boxes of a random top crop (kept ratio drawn in [0.5, 1]) of every image.
Iterations of the steps alternate, so that other processes sharing the machine slow them
alike. From the median step times the report gives the overhead of the full step over the
backbone (head, pooling, losses, data preprocessor and optimizer step), the same without
the optimizer step, and the head step's time as a share of the backbone step. Pretrained
weights are not loaded (nothing is downloaded).
"""
import argparse
import contextlib
import copy
import json
import os
import os.path as osp
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import OptimWrapper, build_optim_wrapper
from torch import Tensor, nn

from mmreidparts.engine.optim_wrappers import resolve_cpu_amp
from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample
from mmreidparts.structures.region_grid import region_boxes_after_crop, side_crop_box
from mmreidparts.utils import register_all_modules, strip_pretrained
from mmreidparts.utils.config import read_config


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command line of the benchmark."""
    parser = argparse.ArgumentParser(
        description='Images/s of a training step of a config vs. its bare backbone')
    parser.add_argument('config', help='config file')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='images per batch (default: the config\'s train batch size)')
    parser.add_argument('--iters', type=int, default=10, help='timed iterations of each step')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed iterations of each step first')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s own choice)')
    parser.add_argument('--amp', action='store_true',
                        help='autocast: float16 on CUDA (with loss scaling), bfloat16 on CPU')
    parser.add_argument('--device', default=None,
                        help='cpu, cuda, cuda:1, ... (default: cuda when available)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random batch')
    parser.add_argument('--stream', default=None, metavar='NAME',
                        help='also time model.backbone.<NAME> alone (forward + backward), '
                        'e.g. "appearance" of a TwoStreamBackbone')
    parser.add_argument('--json', default=None, help='also write the figures to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0:
        parser.error('--iters must be >= 1 and --warmup >= 0')
    if args.batch_size is not None and args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    if args.threads is not None and args.threads < 1:
        parser.error('--threads must be >= 1')
    return args



def input_size(cfg: Config) -> Tuple[int, int]:
    """``(H, W)`` of the training images: the ``ReIDResize`` scale of the train pipeline."""
    for loader in ('train_dataloader', 'test_dataloader'):
        pipeline = (cfg.get(loader) or {}).get('dataset', {}).get('pipeline', [])
        for transform in pipeline:
            if str(transform.get('type', '')).split('.')[-1] == 'ReIDResize':
                h, w = transform.get('scale', (256, 128))
                return int(h), int(w)
    raise ValueError('the config has no ReIDResize in its train or test pipeline; cannot '
                     'tell the input size')


def pk_labels(batch_size: int, num_instances: int, num_classes: int,
              generator: torch.Generator) -> Tensor:
    """Identity labels ``[N]`` in PK layout: ``N / num_instances`` ids, ``num_instances`` each.

    A batch that is not a multiple of ``num_instances`` ends with a shorter group.
    """
    num_ids = -(-batch_size // num_instances)
    if num_ids > num_classes:
        raise ValueError(f'a batch of {batch_size} with {num_instances} images per id needs '
                         f'{num_ids} identities, but the head has {num_classes} classes')
    ids = torch.randperm(num_classes, generator=generator)[:num_ids]
    return ids.repeat_interleave(num_instances)[:batch_size]


def make_batch(batch_size: int,
               size: Tuple[int, int],
               num_classes: int,
               num_parts: Optional[int] = None,
               num_instances: int = 4,
               seed: int = 0,
               region_grid: Optional[Tuple[int, int]] = None,
               num_keypoints: Optional[int] = None) -> dict:
    """A random batch in the data loader's format: uint8 images and data samples.

    Each sample has a PK ``gt_label`` and, when ``num_parts`` is given, a random
    ``gt_part_map`` of the image size with ids ``0..num_parts``; with ``region_grid``,
    ``region_boxes`` ``[p, 4]`` of a top crop keeping a random ratio in [0.5, 1]; with
    ``num_keypoints``, random visible ``gt_keypoints`` inside the image.
    """
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    labels = pk_labels(batch_size, num_instances, num_classes, gen)
    inputs, samples = [], []
    for i in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        sample = ReIDDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
        sample.set_gt_label(int(labels[i]))
        if num_parts is not None:
            sample.set_gt_part_map(torch.randint(0, num_parts + 1, (h, w), generator=gen))
        if region_grid is not None:
            ratio = 0.5 + 0.5 * float(torch.rand(1, generator=gen))
            boxes = region_boxes_after_crop(region_grid, size,
                                            side_crop_box(h, w, ratio, 'top'), size)
            sample.set_field(torch.as_tensor(boxes, dtype=torch.float32), 'region_boxes',
                             dtype=Tensor)
        if num_keypoints is not None:
            kps = torch.rand(num_keypoints, 3, generator=gen) * torch.tensor([w, h, 0.0])
            kps[:, 2] = 2.0
            sample.set_field(kps, 'gt_keypoints', dtype=Tensor)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def build_model_and_optimizer(cfg: Config, device: torch.device) -> Tuple[nn.Module,
                                                                          OptimWrapper]:
    """The config's model (randomly initialised) and optimizer wrapper, on ``device``."""
    # the layers' construction-time initialisation is enough for timing
    model = MODELS.build(strip_pretrained(copy.deepcopy(cfg.model.to_dict())))
    model.to(device).train()
    optim_cfg = copy.deepcopy(cfg.optim_wrapper.to_dict())
    optim_cfg['type'] = 'OptimWrapper'  # autocast is handled here, for both steps alike
    optim_cfg.pop('loss_scale', None)
    optim_cfg.pop('dtype', None)
    return model, build_optim_wrapper(model, optim_cfg)


def autocast_context(device: torch.device,
                     amp: bool) -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of the autocast context of a step (a null context without ``amp``)."""
    if not amp:
        return contextlib.nullcontext
    dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)


def backbone_part(model: nn.Module, name: str) -> nn.Module:
    """The sub-module ``model.backbone.<name>`` (dotted), with a clear error if absent."""
    module = model.backbone
    for attr in name.split('.'):
        if not hasattr(module, attr) or not isinstance(getattr(module, attr), nn.Module):
            children = [n for n, _ in model.backbone.named_children()]
            raise ValueError(f'--stream {name}: the backbone {type(model.backbone).__name__} '
                             f'has no sub-network {name!r}; its children are {children}')
        module = getattr(module, attr)
    return module


def make_steps(model: nn.Module, optim_wrapper: OptimWrapper, batch: dict,
               device: torch.device, amp: bool,
               stream: Optional[str] = None) -> Dict[str, Callable[[], float]]:
    """The steps ``backbone``, ``full``, ``optimizer``, ``head`` (and ``stream``), each
    returning a loss or 0.

    ``optimizer`` only steps the optimizer on the gradients left by ``full``, so it must
    run after ``full`` once. ``stream`` times ``model.backbone.<stream>`` on the images as
    the backbone feeds it (its input normalisation, when the backbone has one for it).
    """
    autocast = autocast_context(device, amp)
    scaler = torch.amp.GradScaler('cuda') if amp and device.type == 'cuda' else None
    with torch.no_grad():
        prepared = model.data_preprocessor(copy.deepcopy(batch), True)
        images = prepared['inputs'].detach()
        with autocast():
            feats0 = tuple(f.detach() for f in model.extract_feat(images))
    samples = prepared['data_samples']

    def full_step() -> float:
        with autocast():
            data = model.data_preprocessor(batch, True)
            losses = model(**data, mode='loss')
            loss, _ = model.parse_losses(losses)
        optim_wrapper.zero_grad()
        if scaler is None:
            loss.backward()
            optim_wrapper.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optim_wrapper.optimizer)
            scaler.update()
        return float(loss.detach())

    # the bare backbone's loss is <feats, r> with fixed random r: the gradient it sends
    # back is a dense map like the head's (a plain sum would send a broadcast ones tensor,
    # which some backward kernels handle faster than real gradients)
    gen = torch.Generator(device='cpu').manual_seed(1)
    probes = tuple(torch.randn(f.shape, generator=gen).to(device) for f in feats0)

    def backbone_step() -> float:
        model.backbone.zero_grad(set_to_none=True)
        with autocast():
            feats = model.backbone(images)
            feats = (feats, ) if isinstance(feats, Tensor) else feats
            loss = sum((f.float() * r).sum() for f, r in zip(feats, probes))
        loss.backward()
        return float(loss.detach())

    def optimizer_step() -> float:
        if scaler is None:
            optim_wrapper.step()
        else:
            optim_wrapper.optimizer.step()
        return 0.0

    def head_step() -> float:
        model.head.zero_grad(set_to_none=True)
        feats = tuple(f.detach().requires_grad_(True) for f in feats0)
        with autocast():
            losses = model.head.loss(feats, samples)
            loss, _ = model.parse_losses(losses)
        loss.backward()  # down to the feature map, as in training
        return float(loss.detach())

    # the order matters: 'optimizer' reuses the gradients of the last 'full' step
    steps = dict(backbone=backbone_step, full=full_step, optimizer=optimizer_step,
                 head=head_step)
    if stream is not None:
        sub = backbone_part(model, stream)
        norm = getattr(model.backbone, f'{stream}_norm', None)
        with torch.no_grad(), autocast():
            sub_in = norm(images) if norm is not None else images
            sub_out = sub(sub_in)
        sub_out = (sub_out, ) if isinstance(sub_out, Tensor) else tuple(sub_out)
        sub_probes = tuple(torch.randn(f.shape, generator=gen).to(device) for f in sub_out)

        def stream_step() -> float:
            sub.zero_grad(set_to_none=True)
            with autocast():
                x = norm(images) if norm is not None else images
                out = sub(x)
                out = (out, ) if isinstance(out, Tensor) else out
                loss = sum((f.float() * r).sum() for f, r in zip(out, sub_probes))
            loss.backward()
            return float(loss.detach())

        steps['stream'] = stream_step
    aux_heads = getattr(model, 'aux_heads', None)
    if aux_heads is not None and len(aux_heads):
        steps.update(aux_steps(model, full_step, feats0, samples, batch, autocast))
    return steps


@contextlib.contextmanager
def without_aux_heads(model: nn.Module):
    """Detach the model's aux heads for the duration of the block (same weights after)."""
    heads = model.aux_heads
    model.aux_heads = nn.ModuleDict()
    try:
        yield
    finally:
        model.aux_heads = heads


def aux_steps(model: nn.Module, full_step: Callable[[], float], feats0: Tuple[Tensor, ...],
              samples: list, batch: dict,
              autocast: Callable[[], contextlib.AbstractContextManager]
              ) -> Dict[str, Callable[[], float]]:
    """The steps ``full_no_aux``, ``aux``, ``predict`` and ``predict_no_aux``."""
    calls = [0]
    for head in model.aux_heads.values():
        head.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    model.aux_calls_in_predict = 0

    def full_no_aux_step() -> float:
        with without_aux_heads(model):
            return full_step()

    def aux_step() -> float:
        model.aux_heads.zero_grad(set_to_none=True)
        feats = tuple(f.detach().requires_grad_(True) for f in feats0)
        with autocast():
            losses = {}
            for head in model.aux_heads.values():
                losses.update(head.loss(feats, samples))
            loss, _ = model.parse_losses(losses)
        loss.backward()
        return float(loss.detach())

    def predict_step(attached: bool = True) -> float:
        model.eval()
        before = calls[0]
        context = contextlib.nullcontext() if attached else without_aux_heads(model)
        with torch.no_grad(), autocast(), context:
            data = model.data_preprocessor(copy.deepcopy(batch), False)
            model(**data, mode='predict')
        if attached:
            model.aux_calls_in_predict += calls[0] - before
        model.train()
        return 0.0

    return dict(full_no_aux=full_no_aux_step, aux=aux_step, predict=predict_step,
                predict_no_aux=lambda: predict_step(False))


def time_alternating(steps: Dict[str, Callable[[], float]], iters: int, warmup: int,
                     device: torch.device) -> Dict[str, List[float]]:
    """Seconds of each iteration of each step; the steps alternate iteration by iteration."""
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    times: Dict[str, List[float]] = {name: [] for name in steps}
    for it in range(warmup + iters):
        for name, step in steps.items():
            sync()
            start = time.perf_counter()
            step()
            sync()
            if it >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def benchmark(cfg: Config,
              batch_size: Optional[int] = None,
              iters: int = 10,
              warmup: int = 2,
              device: Optional[str] = None,
              amp: bool = False,
              seed: int = 0,
              stream: Optional[str] = None) -> dict:
    """Time the full training step and the bare backbone step of ``cfg``; return figures."""
    dev = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    loader = cfg.get('train_dataloader') or {}
    batch_size = batch_size or int(loader.get('batch_size', 64))
    num_instances = int((loader.get('sampler') or {}).get('num_instances', 4))
    size = input_size(cfg)
    torch.manual_seed(seed)
    model, optim_wrapper = build_model_and_optimizer(cfg, dev)
    head = model.head
    num_parts = getattr(head, 'num_parts', None)
    aux_heads = list(getattr(model, 'aux_heads', {}).values())
    if num_parts is None:
        part_classes = [h.num_classes for h in aux_heads if hasattr(h, 'num_classes')]
        num_parts = min(part_classes) - 1 if part_classes else None
    region_grid = getattr(head, 'region_grid', None)
    batch = make_batch(batch_size, size, head.num_classes, num_parts, num_instances, seed,
                       region_grid=region_grid,
                       num_keypoints=getattr(head, 'num_keypoints', None))
    times = time_alternating(make_steps(model, optim_wrapper, batch, dev, amp, stream),
                             iters, warmup, dev)
    out = dict(
        config=cfg.filename, device=str(dev), threads=torch.get_num_threads(),
        batch_size=batch_size, input_size=list(size), num_parts=num_parts, iters=iters,
        warmup=warmup, amp=amp, stream=stream)
    for name, secs in times.items():
        median = statistics.median(secs)
        out[f'{name}_ms'] = 1000 * median
        out[f'{name}_img_per_s'] = batch_size / median
        out[f'{name}_img_per_s_mean'] = batch_size * len(secs) / sum(secs)
    out['overhead'] = out['full_ms'] / out['backbone_ms'] - 1
    out['overhead_without_optimizer'] = (
        (out['full_ms'] - out['optimizer_ms']) / out['backbone_ms'] - 1)
    out['head_share'] = out['head_ms'] / out['backbone_ms']
    if 'aux' in times:
        out['aux_heads'] = sorted(model.aux_heads)
        out['aux_train_overhead'] = out['full_ms'] / out['full_no_aux_ms'] - 1
        out['aux_share'] = out['aux_ms'] / out['backbone_ms']
        out['aux_test_overhead'] = out['predict_ms'] / out['predict_no_aux_ms'] - 1
        out['aux_calls_in_predict'] = int(model.aux_calls_in_predict)
    if stream is not None:
        out['stream_share'] = out['stream_ms'] / out['backbone_ms']
        out['full_over_stream'] = out['full_ms'] / out['stream_ms']
    return out


def format_report(res: dict, load: Tuple[Tuple[float, ...], Tuple[float, ...]]) -> str:
    """The printed report of :func:`benchmark`'s figures and the load before and after."""
    h, w = res['input_size']
    lines = [
        f'config        : {res["config"]}',
        f'device        : {res["device"]}  threads: {res["threads"]}  amp: {res["amp"]}',
        f'batch         : {res["batch_size"]} x 3 x {h} x {w}  parts: {res["num_parts"]}  '
        f'iters: {res["iters"]} (warm-up {res["warmup"]})',
        f'load average  : {" ".join(f"{x:.2f}" for x in load[0])} (before)  '
        f'{" ".join(f"{x:.2f}" for x in load[1])} (after)',
        f'backbone fwd+bwd : {res["backbone_img_per_s"]:8.2f} img/s  '
        f'({res["backbone_ms"]:.1f} ms/iter median, {res["backbone_img_per_s_mean"]:.2f} '
        'img/s mean)',
        f'full train step  : {res["full_img_per_s"]:8.2f} img/s  '
        f'({res["full_ms"]:.1f} ms/iter median, {res["full_img_per_s_mean"]:.2f} img/s mean)',
        f'optimizer step   : {res["optimizer_ms"]:8.1f} ms/iter median',
        f'head step        : {res["head_ms"]:8.1f} ms/iter median = '
        f'{100 * res["head_share"]:.1f} % of the backbone step (head + pooling + losses, '
        'forward and backward)',
        f'overhead         : {100 * res["overhead"]:+.1f} % (full step over the backbone)',
        f'overhead w/o opt : {100 * res["overhead_without_optimizer"]:+.1f} % (head + pooling '
        '+ losses + preprocessing over the backbone)',
    ]
    if 'aux_ms' in res:
        names = ', '.join(res['aux_heads'])
        lines += [
            f'aux heads        : {names}',
            f'full w/o aux     : {res["full_no_aux_img_per_s"]:8.2f} img/s  '
            f'({res["full_no_aux_ms"]:.1f} ms/iter median): the aux heads add '
            f'{100 * res["aux_train_overhead"]:+.1f} % to the training step',
            f'aux step         : {res["aux_ms"]:8.1f} ms/iter median = '
            f'{100 * res["aux_share"]:.1f} % of the backbone step (aux heads, their losses, '
            'forward and backward)',
            f'test (predict)   : {res["predict_ms"]:8.1f} ms/iter with the aux heads, '
            f'{res["predict_no_aux_ms"]:.1f} without ({100 * res["aux_test_overhead"]:+.1f} %); '
            f'aux head calls during predict: {res["aux_calls_in_predict"]}',
        ]
    if res.get('stream') is not None:
        lines += [
            f'stream {res["stream"]} fwd+bwd : {res["stream_img_per_s"]:8.2f} img/s  '
            f'({res["stream_ms"]:.1f} ms/iter median) = {100 * res["stream_share"]:.1f} % of '
            'the backbone step',
            f'full step / stream : {res["full_over_stream"]:.2f}x the time of the '
            f'{res["stream"]} stream alone',
        ]
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark and print (and optionally save) the figures."""
    args = parse_args(argv)
    if not osp.isfile(args.config):
        sys.exit(f'config file not found: {args.config}')
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.device and args.device.startswith('cuda') and not torch.cuda.is_available():
        sys.exit(f'--device {args.device}: CUDA is not available on this machine')
    register_all_modules()
    cfg = read_config(args.config, args.cfg_options)
    amp = args.amp
    on_cpu = (args.device or ('cuda' if torch.cuda.is_available() else 'cpu')) == 'cpu'
    if amp and on_cpu:
        amp, message = resolve_cpu_amp(True)
        if message:
            print(f'[benchmark] {message}')
    before = os.getloadavg()
    res = benchmark(cfg, args.batch_size, args.iters, args.warmup, args.device, amp,
                    args.seed, args.stream)
    after = os.getloadavg()
    res['loadavg_before'], res['loadavg_after'] = list(before), list(after)
    print(format_report(res, (before, after)))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
