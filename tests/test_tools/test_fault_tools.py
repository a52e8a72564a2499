"""Faults during real tool runs: a kill during a checkpoint save, a broken checkpoint, NaN."""
import os.path as osp
import re
import signal

import pytest
from _tool_utils import ROOT, TINY_CFG, data_root_options, run_tool

from mmreidparts.utils import load_state_dict_file

pytestmark = pytest.mark.slow

PLUGINS = osp.join(ROOT, 'tests', 'data', 'plugins')


def _options(root: str, epochs: int = 3) -> list:
    """Batch 8 = 2 ids x 4 images: 4 iterations per epoch; one checkpoint kept (CPU tier)."""
    return ['--cfg-options'] + data_root_options(root) + [
        'train_dataloader.batch_size=8', 'train_dataloader.sampler.batch_size=8',
        f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
        'default_hooks.checkpoint.max_keep_ckpts=1'
    ]


def _pointer(work: str) -> str:
    with open(osp.join(work, 'last_checkpoint'), encoding='utf-8') as f:
        return f.read()


def test_kill_during_a_checkpoint_save_then_resume_auto(tiny_synthetic, tmp_path):
    work = str(tmp_path / 'w')
    kill_cfg = tmp_path / 'kill_cfg.py'
    kill_cfg.write_text(f"_base_ = ['{TINY_CFG}']\n"
                        "custom_imports = dict(imports=['kill_hook'])\n"
                        "custom_hooks = [dict(type='KillDuringSaveHook', at_epoch=2)]\n")
    killed = run_tool(['tools/train.py', str(kill_cfg), '--work-dir', work] +
                      _options(tiny_synthetic), extra_pythonpath=PLUGINS, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # half of epoch 2's bytes reached the disk, under a temporary name only; epoch 1 is
    # still there although one checkpoint is kept (it goes once epoch 2 is complete)
    assert osp.getsize(osp.join(work, 'epoch_2.pth.tmp')) > 0
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))
    assert _pointer(work) == osp.join(work, 'epoch_1.pth')
    _, meta = load_state_dict_file(osp.join(work, 'epoch_1.pth'))
    assert meta['epoch'] == 1
    resumed = run_tool(['tools/train.py', TINY_CFG, '--work-dir', work, '--resume'] +
                       _options(tiny_synthetic))
    log = resumed.stdout + resumed.stderr
    assert 'resumed epoch: 1, iter: 4' in log, log[-3000:]
    _, meta = load_state_dict_file(osp.join(work, 'epoch_3.pth'))
    assert meta['epoch'] == 3 and meta['iter'] == 12
    assert not osp.exists(osp.join(work, 'epoch_2.pth.tmp'))  # replaced by the new save
    assert not osp.exists(osp.join(work, 'epoch_1.pth'))  # rotated out after epoch 2


def test_resume_auto_skips_an_unreadable_last_checkpoint(tiny_synthetic, tmp_path):
    work = str(tmp_path / 'w')
    options = _options(tiny_synthetic, epochs=2) + ['default_hooks.checkpoint.max_keep_ckpts=2']
    run_tool(['tools/train.py', TINY_CFG, '--work-dir', work] + options)
    last = osp.join(work, 'epoch_2.pth')
    with open(last, 'rb') as f:
        data = f.read()
    with open(last, 'wb') as f:  # as a disk full or a copy cut short leaves it
        f.write(data[:len(data) // 2])
    options = _options(tiny_synthetic, epochs=3) + ['default_hooks.checkpoint.max_keep_ckpts=2']
    resumed = run_tool(['tools/train.py', TINY_CFG, '--work-dir', work, '--resume'] + options)
    log = resumed.stdout + resumed.stderr
    assert f'--resume: skipping {last}: cannot read checkpoint {last}' in resumed.stderr
    assert 'truncated or corrupt' in resumed.stderr
    assert f"resuming from {osp.join(work, 'epoch_1.pth')}" in resumed.stderr
    assert 'resumed epoch: 1, iter: 4' in log, log[-3000:]
    _, meta = load_state_dict_file(osp.join(work, 'epoch_3.pth'))
    assert meta['epoch'] == 3 and meta['iter'] == 12


def test_resume_from_an_unreadable_checkpoint_names_it(tiny_synthetic, tmp_path):
    bad = tmp_path / 'epoch_9.pth'
    bad.write_bytes(b'')
    proc = run_tool(['tools/train.py', TINY_CFG, '--work-dir', str(tmp_path / 'w'), '--resume',
                     str(bad)] + _options(tiny_synthetic), check=False)
    assert proc.returncode != 0
    assert f'CheckpointError: cannot read checkpoint {bad}: the file is empty' in proc.stderr


def test_a_diverging_training_stops_naming_the_iteration_and_the_loss(tiny_synthetic, tmp_path):
    work = str(tmp_path / 'w')
    proc = run_tool(['tools/train.py', TINY_CFG, '--work-dir', work] +
                    _options(tiny_synthetic) + ['optim_wrapper.optimizer.lr=1e30'], check=False)
    assert proc.returncode != 0
    found = re.search(r'NonFiniteLossError: iteration (\d+) \(epoch (\d+), batch (\d+)\): '
                      r'the training loss is not finite \(([^)]*)\)', proc.stderr)
    assert found, proc.stderr[-3000:]
    assert re.search(r'loss_\w+=(nan|inf)', found.group(4))
    assert 'training stopped' in proc.stderr
