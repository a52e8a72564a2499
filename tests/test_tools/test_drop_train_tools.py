"""``tools/dist_train.sh configs/drop/drop_hrnet_occduke.py 2`` through the real script on CPU,
and the bad inputs of a DROP training through ``tools/train.py``.

Two gloo processes train the headline config (HRNet-W32 DROP, PCT over the memory bank of
the global batch) for one epoch, overridden to the tiny synthetic set (64x32 images, the
set's exact bpbreid8 labels), 2 ids x 4 images per process, a bank of two global batches and
no download of the ImageNet weights; the run saves its checkpoint and evaluates.
"""
import glob
import json
import os.path as osp
import re

import pytest
from _tool_utils import run_tool

pytestmark = pytest.mark.slow

CONFIG = 'configs/drop/drop_hrnet_occduke.py'


def _tiny_options(root: str) -> list:
    """``--cfg-options`` bringing the DROP config to the tiny synthetic set."""
    opts = [
        'model.backbone.init_cfg=None', 'model.head.num_classes=8',
        # 2 ids x 4 images per process: a global batch of 16, the bank holds two of them
        'model.head.part_triplet_loss.bank_size=32',
        'train_dataloader.batch_size=8', 'train_dataloader.sampler.batch_size=8',
        'train_dataloader.dataset.pipeline.2.scale=(64,32)',
        'train_dataloader.dataset.pipeline.3.padding=2',
        'train_dataloader.dataset.part_labels.scheme=bpbreid8',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'param_scheduler.0.end=1', 'default_hooks.logger.interval=1',
    ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.type=SyntheticPedestrians',
                 f'{loader}.dataset.data_root={root}', f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False']
    opts += ['val_dataloader.dataset.pipeline.1.scale=(64,32)', 'val_dataloader.batch_size=16',
             'test_dataloader.dataset.pipeline.1.scale=(64,32)']
    return opts


def test_dist_train_drop_hrnet_occduke_two_processes_on_cpu(tiny_synthetic, tmp_path):
    work = str(tmp_path / 'drop_dist')
    proc = run_tool(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', work,
                     '--cfg-options'] + _tiny_options(tiny_synthetic), timeout=900)
    log = proc.stdout + proc.stderr
    assert re.search(r'World size: 2|world_size: 2|Distributed training: True', log), log[-2000:]
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    # every DROP loss is trained and logged
    scalars = sorted(glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')))
    assert scalars, 'no scalars.json'
    with open(scalars[-1], encoding='utf-8') as f:
        rows = [json.loads(line) for line in f]
    train = [r for r in rows if 'loss' in r]
    assert train, 'no training iteration was logged'
    for key in ('loss_hp', 'loss_id_global', 'loss_id_foreground', 'loss_id_concat',
                'loss_tri_parts'):
        assert key in train[-1], key
        assert train[-1][key] == train[-1][key]  # finite, not NaN
    val = [r for r in rows if 'reid/mAP' in r]
    assert val and 0.0 <= val[-1]['reid/mAP'] <= 100.0


def test_dist_train_memory_bank_sees_the_global_batch(tiny_synthetic, tmp_path):
    """A bank of 8 fits each process's batch of 8 but not the global batch of 16: the run
    stops at the first step, naming the key (so the bank is fed the all-gathered batch)."""
    opts = [o for o in _tiny_options(tiny_synthetic) if 'bank_size' not in o]
    proc = run_tool(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir',
                     str(tmp_path / 'bank'), '--cfg-options'] + opts +
                    ['model.head.part_triplet_loss.bank_size=8'], timeout=900, check=False)
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr
    assert 'part_triplet_loss.bank_size=8 does not fit the batch of 16' in log, log[-3000:]


def _train(root: str, tmp_path, extra: list) -> str:
    """Run tools/train.py on the tiny DROP setup with ``extra`` options; expect a failure."""
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', str(tmp_path / 'bad'),
                     '--cfg-options'] + _tiny_options(root) + extra, check=False)
    assert proc.returncode != 0, 'the training was expected to stop'
    return proc.stdout + proc.stderr


def test_drop_without_part_labels_names_the_key(tiny_synthetic, tmp_path):
    log = _train(tiny_synthetic, tmp_path, ['train_dataloader.dataset.part_labels=None'])
    assert 'part_labels' in log and 'LoadPartLabel' in log, log[-3000:]


def test_drop_labels_of_another_k_name_num_parts(tiny_synthetic, tmp_path):
    # the set's bpbreid8 labels (ids up to 8) for a head with K=5
    log = _train(tiny_synthetic, tmp_path,
                 ['model.head.num_parts=5', 'model.head.part_scheme=bpbreid5'])
    assert 'K=5 parts (num_parts' in log, log[-3000:]


def test_drop_bank_that_does_not_fit_the_batch_names_the_key(tiny_synthetic, tmp_path):
    log = _train(tiny_synthetic, tmp_path, ['model.head.part_triplet_loss.bank_size=12'])
    assert 'part_triplet_loss.bank_size=12 does not fit the batch of 8' in log, log[-3000:]
