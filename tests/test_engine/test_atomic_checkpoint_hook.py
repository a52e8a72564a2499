"""AtomicCheckpointHook: a save that fails half-way leaves the previous checkpoint usable."""
import os
import os.path as osp

import pytest
from _toy_runner import ITERS_PER_EPOCH, ToyModel, toy_runner

from mmreidparts.engine.hooks import atomic_checkpoint_hook
from mmreidparts.utils import find_resumable_checkpoint, load_state_dict_file


def _pth(work: str):
    return sorted(n for n in os.listdir(work) if n.endswith('.pth'))


def _pointer(work: str) -> str:
    with open(osp.join(work, 'last_checkpoint')) as f:
        return f.read()


def test_rotation_keeps_one_complete_checkpoint(tmp_path):
    work = str(tmp_path)
    toy_runner(work, ToyModel(), checkpoint=dict(max_keep_ckpts=1)).train()
    assert _pth(work) == ['epoch_3.pth']
    assert _pointer(work) == osp.join(work, 'epoch_3.pth')
    assert not [n for n in os.listdir(work) if n.endswith('.tmp')]
    _, meta = load_state_dict_file(osp.join(work, 'epoch_3.pth'))
    assert meta['epoch'] == 3 and meta['iter'] == 3 * ITERS_PER_EPOCH


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    work = str(tmp_path)
    real = atomic_checkpoint_hook.commit_file

    def crash_on_epoch_2(tmp: str, path: str) -> None:
        if path.endswith('epoch_2.pth'):
            raise OSError('disk full')  # the bytes are in epoch_2.pth.tmp, not renamed
        real(tmp, path)

    monkeypatch.setattr(atomic_checkpoint_hook, 'commit_file', crash_on_epoch_2)
    # max_keep_ckpts=1: mmengine's hook deletes epoch_1.pth before writing epoch_2.pth
    runner = toy_runner(work, ToyModel(), checkpoint=dict(max_keep_ckpts=1))
    with pytest.raises(OSError, match='disk full'):
        runner.train()
    assert _pth(work) == ['epoch_1.pth']
    assert osp.isfile(osp.join(work, 'epoch_2.pth.tmp'))
    assert _pointer(work) == osp.join(work, 'epoch_1.pth')
    path, skipped = find_resumable_checkpoint(work)
    assert path == osp.join(work, 'epoch_1.pth') and skipped == []
