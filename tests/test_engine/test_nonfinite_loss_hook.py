"""NonFiniteLossHook: a NaN loss stops the training (or its batch is skipped)."""
import os
import os.path as osp

import pytest
import torch
from _toy_runner import ITERS_PER_EPOCH, Spy, ToyModel, toy_runner

from mmreidparts.engine.hooks import NonFiniteLossHook
from mmreidparts.utils import load_state_dict_file
from mmreidparts.utils.errors import NonFiniteError, NonFiniteLossError


def test_nan_loss_stops_naming_iteration_and_term_and_keeps_last_checkpoint(tmp_path):
    work = str(tmp_path)
    # iteration index 5 = the 2nd batch of epoch 2
    runner = toy_runner(work, ToyModel(nan_at={5}))
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    msg = str(err.value)
    assert 'iteration 6 (epoch 2, batch 2)' in msg
    assert 'loss_bad=nan' in msg and 'loss_fit' not in msg  # only the bad term is named
    assert osp.join(work, 'epoch_1.pth') in msg  # the last good checkpoint
    assert isinstance(err.value, FloatingPointError)
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == ['epoch_1.pth']
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work, 'epoch_1.pth')
    _, meta = load_state_dict_file(osp.join(work, 'epoch_1.pth'))
    assert meta['epoch'] == 1 and meta['iter'] == ITERS_PER_EPOCH


def test_skip_mode_leaves_weights_and_optimizer_state_unchanged(tmp_path):
    spy = Spy()
    model = ToyModel(nan_at={5})
    runner = toy_runner(str(tmp_path), model, nonfinite=dict(action='skip'),
                        extra_hooks=[spy])
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, NonFiniteLossHook))
    assert hook.skipped == 1
    w = spy.weights  # after each of the 12 iterations
    assert len(w) == 3 * ITERS_PER_EPOCH
    assert torch.equal(w[5], w[4])  # the bad batch changed nothing
    assert all(not torch.equal(w[i], w[i - 1]) for i in range(1, len(w)) if i != 5)
    # Adam counted 11 updates, not 12
    state = runner.optim_wrapper.optimizer.state[model.linear.weight]
    assert int(state['step']) == 3 * ITERS_PER_EPOCH - 1
    assert torch.isfinite(model.linear.weight).all()


def test_skip_mode_stops_after_max_skips_bad_batches_in_a_row(tmp_path):
    runner = toy_runner(str(tmp_path), ToyModel(nan_at=range(5, 12)),
                        nonfinite=dict(action='skip', max_skips=2))
    with pytest.raises(NonFiniteLossError, match='iteration 8 .*for 3 batches in a row'):
        runner.train()


def test_checkpoint_with_nan_weights_is_not_written(tmp_path):
    work = str(tmp_path)
    # the weights break at the last iteration of epoch 2 while its loss is still finite
    runner = toy_runner(work, ToyModel(), extra_hooks=[Spy(poison_at=2 * ITERS_PER_EPOCH - 1)])
    with pytest.raises(NonFiniteError, match=r'1 tensors \(e\.g\. linear\.weight\)') as err:
        runner.train()
    assert osp.join(work, 'epoch_1.pth') in str(err.value)
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == ['epoch_1.pth']


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="action must be one of \\('stop', 'skip'\\)"):
        NonFiniteLossHook(action='ignore')
    with pytest.raises(ValueError, match='max_skips'):
        NonFiniteLossHook(max_skips=0)
