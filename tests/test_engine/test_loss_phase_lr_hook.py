"""LossPhaseLRHook: the learning rate of each step follows the model's loss phase."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.optim import OptimWrapper
from torch import nn

from mmreidparts.engine.hooks import LossPhaseLRHook
from mmreidparts.models.reid import ReIDModel


def _model(phases):
    return ReIDModel(backbone=nn.Conv2d(3, 2, 1), head=nn.Linear(2, 2), loss_phases=phases)


def _runner(model, accumulative_counts=1, iteration=0):
    params = [dict(params=[model.backbone.weight], lr=0.1),
              dict(params=[model.backbone.bias], lr=0.02)]
    wrapper = OptimWrapper(torch.optim.SGD(params, lr=0.1),
                           accumulative_counts=accumulative_counts)
    return SimpleNamespace(model=model, optim_wrapper=wrapper, iter=iteration)


def test_lr_is_scaled_during_the_step_and_restored_after():
    model = _model([dict(losses=['loss_ce']), dict(losses=['loss_tri'], lr_mult=0.1)])
    runner = _runner(model)
    hook = LossPhaseLRHook()
    hook.before_train(runner)
    assert model._phase_lr_hooked
    groups = runner.optim_wrapper.optimizer.param_groups
    for it, factor in ((0, 1.0), (1, 0.1), (2, 1.0), (3, 0.1)):
        runner.iter = it
        hook.before_train_iter(runner, it)
        assert [g['lr'] for g in groups] == pytest.approx([0.1 * factor, 0.02 * factor])
        hook.after_train_iter(runner, it)
        assert [g['lr'] for g in groups] == [0.1, 0.02]  # exactly the scheduled values
    assert LossPhaseLRHook.priority == 'NORMAL'  # before ParamSchedulerHook (LOW)


def test_hook_does_nothing_without_phases_and_refuses_gradient_accumulation():
    runner = _runner(_model(None))
    hook = LossPhaseLRHook()
    hook.before_train(runner)
    runner.iter = 1
    hook.before_train_iter(runner, 1)
    assert [g['lr'] for g in runner.optim_wrapper.optimizer.param_groups] == [0.1, 0.02]
    hook.after_train_iter(runner, 1)
    model = _model([dict(losses=['loss_ce']), dict(losses=['loss_tri'], lr_mult=0.1)])
    with pytest.raises(ValueError, match='accumulative_counts'):
        LossPhaseLRHook().before_train(_runner(model, accumulative_counts=2))
