"""Checkpoint files that are empty, truncated or garbage: clear errors, and a resume fallback."""
import os.path as osp

import pytest
import torch

from mmreidparts.models.utils.checkpoint import load_checkpoint_file
from mmreidparts.utils import find_resumable_checkpoint, load_state_dict_file, read_checkpoint
from mmreidparts.utils.errors import CheckpointError, CorruptFileError


def _training_ckpt(path: str, epoch: int) -> None:
    """A small checkpoint shaped like mmengine's (state_dict + meta)."""
    torch.save(dict(state_dict={'w': torch.full((64, 64), float(epoch))},
                    meta=dict(epoch=epoch, iter=4 * epoch)), path)


def _truncate(path: str) -> None:
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


@pytest.mark.parametrize('content', [b'', b'garbage that is no checkpoint', None])
def test_unreadable_checkpoint_names_the_file(tmp_path, content):
    path = str(tmp_path / 'epoch_1.pth')
    _training_ckpt(path, 1)
    if content is None:
        _truncate(path)
    else:
        with open(path, 'wb') as f:
            f.write(content)
    for loader in (read_checkpoint, load_state_dict_file, load_checkpoint_file):
        with pytest.raises(CheckpointError) as err:
            loader(path)
        assert path in str(err.value)
        # callers that caught RuntimeError (load_state_dict_file) or ValueError
        # (load_checkpoint_file) before still do
        assert isinstance(err.value, RuntimeError) and isinstance(err.value, CorruptFileError)
    if content == b'':
        assert 'empty (0 bytes)' in str(err.value)
    else:
        assert 'truncated or corrupt' in str(err.value)


def test_a_state_dict_of_non_tensors_is_refused(tmp_path):
    path = str(tmp_path / 'x.pth')
    torch.save({'state_dict': {'w': [1, 2]}}, path)
    with pytest.raises(CheckpointError, match='other entries than named tensors'):
        load_state_dict_file(path)


def test_resume_falls_back_to_the_previous_good_checkpoint(tmp_path):
    work = str(tmp_path)
    for epoch in (1, 2, 3):
        _training_ckpt(osp.join(work, f'epoch_{epoch}.pth'), epoch)
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_3.pth'))
    assert find_resumable_checkpoint(work) == (osp.join(work, 'epoch_3.pth'), [])
    _truncate(osp.join(work, 'epoch_3.pth'))
    path, skipped = find_resumable_checkpoint(work)
    assert path == osp.join(work, 'epoch_2.pth')
    assert [p for p, _ in skipped] == [osp.join(work, 'epoch_3.pth')]
    assert 'truncated or corrupt' in skipped[0][1]


def test_resume_with_a_broken_pointer_or_nothing_to_resume(tmp_path):
    work = str(tmp_path)
    assert find_resumable_checkpoint(work) == (None, [])
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write('')  # a pointer cut short
    _training_ckpt(osp.join(work, 'epoch_1.pth'), 1)
    _training_ckpt(osp.join(work, 'epoch_2.pth'), 2)
    path, skipped = find_resumable_checkpoint(work)
    assert path == osp.join(work, 'epoch_2.pth')
    assert skipped == [(osp.join(work, 'last_checkpoint'), "it names '', not a checkpoint file")]
    # the pointer names a file that was removed
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'epoch_5.pth'))
    path, skipped = find_resumable_checkpoint(work)
    assert path == osp.join(work, 'epoch_2.pth')
    assert skipped == [(osp.join(work, 'epoch_5.pth'), 'the file does not exist')]
    # every candidate is unreadable: no path, all of them listed
    for epoch in (1, 2):
        _truncate(osp.join(work, f'epoch_{epoch}.pth'))
    path, skipped = find_resumable_checkpoint(work)
    assert path is None and len(skipped) == 3
