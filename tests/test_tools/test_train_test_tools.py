"""Integration runs through the real tools: train, test, distributed launch, resume."""
import glob
import json
import os.path as osp
import re

import pytest
import torch
from _tool_utils import ROOT, TINY_CFG, data_root_options, run_tool

pytestmark = pytest.mark.slow


def _val_metrics(work_dir: str) -> dict:
    """The last validation metrics logged by mmengine in ``work_dir``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    assert files, f'no scalars.json under {work_dir}'
    metrics = {}
    with open(files[-1], encoding='utf-8') as f:
        for line in f:
            row = json.loads(line)
            if 'reid/mAP' in row:
                metrics = row
    assert metrics, 'no validation metrics were logged'
    return metrics


def test_train_then_test_gives_the_same_metrics(tiny_synthetic, tmp_path):
    work = str(tmp_path / 'work')
    run_tool(['tools/train.py', TINY_CFG, '--work-dir', work, '--cfg-options'] +
             data_root_options(tiny_synthetic))
    ckpt = osp.join(work, 'epoch_2.pth')
    assert osp.isfile(ckpt)
    val = _val_metrics(work)
    out = str(tmp_path / 'test_metrics.json')
    proc = run_tool(['tools/test.py', TINY_CFG, ckpt, '--work-dir', str(tmp_path / 'test'),
                     '--out', out, '--cfg-options'] + data_root_options(tiny_synthetic))
    assert 'rank-1' in proc.stdout + proc.stderr  # the metric table is printed
    with open(out, encoding='utf-8') as f:
        test = json.load(f)
    for key in ('rank1', 'rank5', 'mAP', 'mINP'):
        assert test[f'reid/{key}'] == pytest.approx(val[f'reid/{key}'], abs=1e-4), key
    # the checkpoint loads with weights_only=True (no unsafe unpickling)
    from mmreidparts.utils import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()
    assert 'state_dict' in torch.load(ckpt, map_location='cpu', weights_only=True)


def test_dist_train_two_processes_on_cpu(tiny_synthetic, tmp_path):
    work = str(tmp_path / 'dist')
    proc = run_tool(['bash', 'tools/dist_train.sh', TINY_CFG, '2', '--work-dir', work,
                     '--cfg-options'] + data_root_options(tiny_synthetic), timeout=400)
    log = proc.stdout + proc.stderr
    assert re.search(r'World size: 2|world_size: 2|Distributed training: True', log), log[-2000:]
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    metrics = _val_metrics(work)
    # every one of the 12 queries was ranked exactly once across the two ranks
    assert '12 queries' in log or 'queries' in log
    assert 0.0 <= metrics['reid/mAP'] <= 100.0


def test_resume_after_kill_mid_epoch(tiny_synthetic, tmp_path):
    work = str(tmp_path / 'resume')
    # batch 8 = 2 ids x 4 images -> 4 iterations per epoch; killed before iteration 6,
    # i.e. in the middle of epoch 2, after epoch_1.pth was saved.
    common = ['--work-dir', work, '--cfg-options'] + data_root_options(tiny_synthetic) + [
        'train_dataloader.batch_size=8', 'train_dataloader.sampler.batch_size=8',
        'train_cfg.max_epochs=3', 'train_cfg.val_interval=3'
    ]
    plugin = osp.join(ROOT, 'tests', 'data', 'plugins')
    kill_cfg = tmp_path / 'kill_cfg.py'
    kill_cfg.write_text(f"_base_ = ['{TINY_CFG}']\n"
                        "custom_imports = dict(imports=['kill_hook'])\n"
                        "custom_hooks = [dict(type='KillAtIterHook', at_iter=6)]\n")
    killed = run_tool(['tools/train.py', str(kill_cfg)] + common, extra_pythonpath=plugin,
                      check=False)
    assert killed.returncode != 0, 'the training was expected to be killed'
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert not osp.isfile(osp.join(work, 'epoch_2.pth'))
    resumed = run_tool(['tools/train.py', TINY_CFG, '--resume'] + common)
    log = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 1, iter: 4' in log, log[-3000:]
    assert osp.isfile(osp.join(work, 'epoch_3.pth'))
    from mmreidparts.utils import load_state_dict_file
    _, meta = load_state_dict_file(osp.join(work, 'epoch_3.pth'))
    assert meta['epoch'] == 3 and meta['iter'] == 12


def test_plugin_head_through_custom_imports(tiny_synthetic, tmp_path):
    cfg = tmp_path / 'plugin_cfg.py'
    cfg.write_text(f"_base_ = ['{TINY_CFG}']\n"
                   "custom_imports = dict(imports=['reid_plugin'], allow_failed_imports=False)\n"
                   "model = dict(head=dict(type='StripeBNNeckHead', num_stripes=2))\n"
                   "train_cfg = dict(max_epochs=1, val_interval=1)\n")
    plugin = osp.join(ROOT, 'projects', 'example_plugin')
    proc = run_tool(['tools/train.py', str(cfg), '--work-dir', str(tmp_path / 'w'),
                     '--cfg-options'] + data_root_options(tiny_synthetic),
                    extra_pythonpath=plugin)
    log = proc.stdout + proc.stderr
    # the evaluator saw three embeddings per image: global + two stripes
    assert '3 embeddings' in log, log[-2000:]


@pytest.mark.skipif(torch.cuda.is_available(), reason='--amp picks float16 AMP on CUDA')
def test_amp_on_cpu_trains_with_bfloat16_autocast(tiny_synthetic, tmp_path, monkeypatch):
    # kept on CPUs without bfloat16 kernels too (where --amp alone would train in float32)
    monkeypatch.setenv('MMREIDPARTS_FORCE_CPU_AMP', '1')
    work = str(tmp_path / 'amp')
    proc = run_tool(['tools/train.py', TINY_CFG, '--work-dir', work, '--amp',
                     '--cfg-options'] + data_root_options(tiny_synthetic))
    assert 'bfloat16 autocast on the CPU' in proc.stdout
    dumped = glob.glob(osp.join(work, '*.py'))
    assert dumped and "type='CPUAutocastOptimWrapper'" in open(dumped[0]).read()
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    metrics = _val_metrics(work)
    assert 0.0 <= metrics['reid/mAP'] <= 100.0
    losses = []
    for path in glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')):
        with open(path, encoding='utf-8') as f:
            losses += [json.loads(line)['loss'] for line in f if '"loss"' in line]
    assert losses and all(l == l and abs(l) < 1e4 for l in losses)  # finite
