"""tools/analysis_tools/benchmark_train.py: the random batch, the two steps, the report."""
import importlib.util
import json
import math
import os.path as osp
import re

import pytest
import torch
from _tool_utils import ROOT, run_tool
from mmengine.config import Config

TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_train.py')
BP_SYNTHETIC = osp.join(ROOT, 'configs', 'bpbreid', 'bpbreid_mobilenetv2_1xb64_synthetic.py')


def load_tool():
    spec = importlib.util.spec_from_file_location('benchmark_train', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tool():
    return load_tool()


@pytest.fixture()
def tiny_bpbreid_cfg(tmp_path) -> str:
    """BPBreID (K=8) on a quarter-width MobileNetV2 at 64x32, 8 training classes."""
    path = tmp_path / 'tiny_bpbreid.py'
    path.write_text(
        f"_base_ = ['{BP_SYNTHETIC}']\n"
        "model = dict(backbone=dict(widen_factor=0.25), head=dict(num_classes=8))\n"
        "train_pipeline = [dict(type='LoadReIDImage'), dict(type='LoadPartLabel'),\n"
        "                  dict(type='ReIDResize', scale=(64, 32)),\n"
        "                  dict(type='PackReIDInputs')]\n"
        "train_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n")
    return str(path)


def test_make_batch_is_pk_with_part_maps(tool):
    batch = tool.make_batch(8, (16, 8), num_classes=10, num_parts=5, num_instances=4, seed=3)
    labels = [int(s.gt_label) for s in batch['data_samples']]
    assert labels[:4] == [labels[0]] * 4 and labels[4:] == [labels[4]] * 4
    assert labels[0] != labels[4] and all(0 <= x < 10 for x in labels)
    maps = torch.stack([s.gt_part_map.data.reshape(16, 8) for s in batch['data_samples']])
    assert int(maps.min()) == 0 and int(maps.max()) == 5  # ids 0..K, all drawn
    assert all(x.dtype == torch.uint8 and x.shape == (3, 16, 8) for x in batch['inputs'])
    again = tool.make_batch(8, (16, 8), num_classes=10, num_parts=5, num_instances=4, seed=3)
    assert torch.equal(batch['inputs'][0], again['inputs'][0])  # seeded
    no_parts = tool.make_batch(6, (16, 8), num_classes=10, num_parts=None, num_instances=4)
    assert 'gt_part_map' not in no_parts['data_samples'][0]
    assert len({int(s.gt_label) for s in no_parts['data_samples']}) == 2  # 4 + 2 images
    with pytest.raises(ValueError, match='identities'):
        tool.make_batch(16, (16, 8), num_classes=3, num_instances=4)


def test_input_size_comes_from_the_train_pipeline(tool, tiny_bpbreid_cfg):
    assert tool.input_size(Config.fromfile(tiny_bpbreid_cfg)) == (64, 32)
    assert tool.input_size(Config.fromfile(BP_SYNTHETIC)) == (128, 64)


def test_full_step_updates_every_part_and_backbone_step_updates_nothing(tool,
                                                                        tiny_bpbreid_cfg):
    from mmreidparts.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(tiny_bpbreid_cfg)
    device = torch.device('cpu')
    model, optim = tool.build_model_and_optimizer(cfg, device)
    batch = tool.make_batch(8, (64, 32), model.head.num_classes, model.head.num_parts)
    steps = tool.make_steps(model, optim, batch, device, amp=False)
    assert list(steps) == ['backbone', 'full', 'optimizer', 'head']

    backbone_w = model.backbone.conv1.conv.weight
    classifier_w = model.head.pixel_classifier.conv.weight
    before = backbone_w.detach().clone(), classifier_w.detach().clone()
    loss = steps['backbone']()  # a random projection: any sign
    assert math.isfinite(loss) and backbone_w.grad is not None
    assert backbone_w.grad.abs().sum() > 0
    assert torch.equal(backbone_w, before[0])  # no optimizer step
    loss = steps['full']()
    assert loss > 0
    assert not torch.equal(backbone_w, before[0])
    assert not torch.equal(classifier_w, before[1])  # the L_pa gradient reached the head
    after_full = classifier_w.detach().clone()
    assert steps['optimizer']() == 0.0
    assert not torch.equal(classifier_w, after_full)  # one more step on the same gradients
    # the head step: gradients for the head only, no update
    model.zero_grad(set_to_none=True)
    after_opt = classifier_w.detach().clone()
    assert steps['head']() > 0
    assert classifier_w.grad is not None and classifier_w.grad.abs().sum() > 0
    assert backbone_w.grad is None
    assert torch.equal(classifier_w, after_opt)


def test_tool_prints_both_throughputs_and_the_overhead(tiny_bpbreid_cfg, tmp_path):
    out = tmp_path / 'bench.json'
    proc = run_tool(['tools/analysis_tools/benchmark_train.py', tiny_bpbreid_cfg,
                     '--batch-size', '8', '--iters', '2', '--warmup', '1', '--threads', '1',
                     '--device', 'cpu', '--json', str(out)])
    text = proc.stdout
    backbone = re.search(r'backbone fwd\+bwd\s*:\s*([\d.]+) img/s\s+\(([\d.]+) ms/iter', text)
    full = re.search(r'full train step\s*:\s*([\d.]+) img/s\s+\(([\d.]+) ms/iter', text)
    overhead = re.search(r'overhead\s*:\s*([+-][\d.]+) %', text)
    no_opt = re.search(r'overhead w/o opt\s*:\s*([+-][\d.]+) %', text)
    assert backbone and full and overhead and no_opt, text
    assert re.search(r'optimizer step\s*:\s*[\d.]+ ms/iter', text)
    assert 'batch         : 8 x 3 x 64 x 32  parts: 8' in text
    assert re.search(r'load average\s*: [\d.]+ [\d.]+ [\d.]+ \(before\)', text)
    res = json.loads(out.read_text())
    assert res['batch_size'] == 8 and res['input_size'] == [64, 32] and res['num_parts'] == 8
    assert res['threads'] == 1 and res['iters'] == 2 and res['device'] == 'cpu'
    for name in ('backbone', 'full'):
        assert res[f'{name}_img_per_s'] == pytest.approx(8000 / res[f'{name}_ms'])
    assert res['overhead'] == pytest.approx(res['full_ms'] / res['backbone_ms'] - 1)
    assert res['overhead_without_optimizer'] == pytest.approx(
        (res['full_ms'] - res['optimizer_ms']) / res['backbone_ms'] - 1)
    assert res['overhead_without_optimizer'] < res['overhead']
    assert res['head_share'] == pytest.approx(res['head_ms'] / res['backbone_ms'])
    head = re.search(r'head step\s*:\s*([\d.]+) ms/iter median = ([\d.]+) % of the backbone', text)
    assert head, text
    assert float(head.group(2)) == pytest.approx(100 * res['head_share'], abs=0.06)
    assert float(full.group(1)) == pytest.approx(res['full_img_per_s'], abs=0.01)
    assert float(overhead.group(1)) == pytest.approx(100 * res['overhead'], abs=0.06)
    assert float(no_opt.group(1)) == pytest.approx(100 * res['overhead_without_optimizer'],
                                                   abs=0.06)


def test_tool_rejects_bad_arguments(tiny_bpbreid_cfg):
    proc = run_tool(['tools/analysis_tools/benchmark_train.py', tiny_bpbreid_cfg,
                     '--iters', '0'], check=False)
    assert proc.returncode != 0 and '--iters must be >= 1' in proc.stderr
    proc = run_tool(['tools/analysis_tools/benchmark_train.py', 'no_such_config.py'],
                    check=False)
    assert proc.returncode != 0 and 'config file not found' in proc.stderr


def test_make_batch_gives_region_boxes_of_top_crops(tool):
    batch = tool.make_batch(4, (48, 16), num_classes=4, num_instances=2, seed=1,
                            region_grid=(6, 1))
    for sample in batch['data_samples']:
        boxes = sample.region_boxes  # [6, 4] in input pixels
        assert boxes.shape == (6, 4)
        assert float(boxes[0, 1]) == 0  # the top stripe is always kept
        assert torch.all(boxes[:, 3] <= 48) and torch.all(boxes[:, 2] == 16)
        assert float(boxes[-1, 3]) == 48  # the kept part is stretched to the full height
    assert 'region_boxes' not in tool.make_batch(4, (48, 16), 4, num_instances=2)[
        'data_samples'][0]


PAL_SYNTHETIC = osp.join(ROOT, 'configs', 'pal',
                         'globalpool_ps_mobilenetv2os8_1xb64_synthetic_cpu.py')


@pytest.fixture()
def tiny_pal_cfg(tmp_path) -> str:
    """GlobalPool + PS on a quarter-width MobileNetV2 at 48x16, 8 training classes."""
    path = tmp_path / 'tiny_pal.py'
    path.write_text(
        f"_base_ = ['{PAL_SYNTHETIC}']\n"
        "model = dict(backbone=dict(widen_factor=0.25), head=dict(num_classes=8))\n"
        "train_pipeline = [dict(type='LoadReIDImage'), dict(type='LoadPartLabel'),\n"
        "                  dict(type='ReIDResize', scale=(48, 16)),\n"
        "                  dict(type='PackReIDInputs')]\n"
        "train_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n")
    return str(path)


BILINEAR_SYNTHETIC = osp.join(ROOT, 'configs', 'part_bilinear',
                              'bilinear_mobilenetv2os8_1xb64_synthetic_cpu.py')


@pytest.fixture()
def tiny_bilinear_cfg(tmp_path) -> str:
    """The two-stream tier model on quarter-width MobileNetV2 streams at 64x32."""
    path = tmp_path / 'tiny_bilinear.py'
    path.write_text(
        f"_base_ = ['{BILINEAR_SYNTHETIC}']\n"
        "model = dict(backbone=dict(appearance=dict(widen_factor=0.25),\n"
        "                           part=dict(widen_factor=0.25)),\n"
        "             head=dict(app_channels=1280, part_channels=24, num_classes=8))\n"
        "train_pipeline = [dict(type='LoadReIDImage'), dict(type='ReIDResize', scale=(64, 32)),\n"
        "                  dict(type='PackReIDInputs')]\n"
        "train_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n")
    return str(path)


def test_aux_head_steps_time_the_ps_head_with_and_without(tool, tiny_pal_cfg):
    from mmreidparts.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(tiny_pal_cfg)
    device = torch.device('cpu')
    model, optim = tool.build_model_and_optimizer(cfg, device)
    batch = tool.make_batch(8, (48, 16), model.head.num_classes, num_parts=7)
    steps = tool.make_steps(model, optim, batch, device, amp=False)
    assert list(steps) == ['backbone', 'full', 'optimizer', 'head', 'full_no_aux', 'aux',
                           'predict', 'predict_no_aux']
    ps_w = model.aux_heads.ps_head.classifier.weight
    steps['full']()
    after_full = ps_w.detach().clone()
    model.zero_grad(set_to_none=True)
    steps['full_no_aux']()  # the same model without its PS head: the head is not trained
    assert torch.equal(ps_w, after_full) and ps_w.grad is None
    assert 'ps_head' in model.aux_heads  # and it is attached again
    assert steps['aux']() > 0 and ps_w.grad is not None
    steps['predict']()
    steps['predict_no_aux']()
    assert model.aux_calls_in_predict == 0 and model.training

    res = tool.benchmark(cfg, batch_size=8, iters=1, warmup=0)
    assert res['num_parts'] == 7 and res['aux_heads'] == ['ps_head']
    assert res['aux_calls_in_predict'] == 0
    assert res['aux_train_overhead'] == pytest.approx(res['full_ms'] / res['full_no_aux_ms'] - 1)
    text = tool.format_report(res, ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)))
    assert 'aux head calls during predict: 0' in text
    assert re.search(r'the aux heads add [+-][\d.]+ % to the training step', text)


def test_stream_step_times_one_stream_of_a_two_stream_backbone(tool, tiny_bilinear_cfg):
    from mmreidparts.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(tiny_bilinear_cfg)
    device = torch.device('cpu')
    model, optim = tool.build_model_and_optimizer(cfg, device)
    batch = tool.make_batch(8, (64, 32), model.head.num_classes)
    steps = tool.make_steps(model, optim, batch, device, amp=False, stream='appearance')
    assert list(steps) == ['backbone', 'full', 'optimizer', 'head', 'stream']
    model.zero_grad(set_to_none=True)
    assert steps['stream']() != 0.0
    assert model.backbone.appearance.conv1.conv.weight.grad is not None
    assert model.backbone.part.conv1.conv.weight.grad is None  # the other stream is idle
    with pytest.raises(ValueError, match=r"no sub-network 'pose'.*'appearance', 'part'"):
        tool.make_steps(model, optim, batch, device, amp=False, stream='pose')
    res = tool.benchmark(cfg, batch_size=8, iters=1, warmup=0, device='cpu',
                         stream='appearance')
    assert res['stream'] == 'appearance' and res['stream_ms'] > 0
    assert res['full_over_stream'] == pytest.approx(res['full_ms'] / res['stream_ms'])
    assert 'stream appearance fwd+bwd' in tool.format_report(res, ((0, 0, 0), (0, 0, 0)))
