"""StageSwitchHook: head attributes and the train loader change at the stage epochs."""
from types import SimpleNamespace

import pytest
from torch import nn

from mmreidparts.engine.hooks import StageSwitchHook
from mmreidparts.registry import HOOKS


class _Head(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enable_triplet = False
        self.margin = 0.3


class _Loader(list):
    """A stand-in loader of ``batch_size``-sized batches over 12 items."""

    def __init__(self, cfg: dict) -> None:
        super().__init__(range(12 // cfg['batch_size']))
        self.cfg = cfg


def _runner(epoch: int = 0):
    cfg = SimpleNamespace(train_dataloader=dict(batch_size=2, sampler=dict(type='A')))
    loop = SimpleNamespace(iter=epoch * 6, max_epochs=6, _max_iters=36,
                           dataloader=_Loader(cfg.train_dataloader))
    model = nn.Module()
    model.head = _Head()
    return SimpleNamespace(model=model, cfg=cfg, train_loop=loop, epoch=epoch, seed=3,
                           build_dataloader=lambda c, seed, diff_rank_seed: _Loader(c))


def _stages():
    return [dict(epoch=2, head=dict(enable_triplet=True),
                 train_dataloader=dict(batch_size=4, sampler=dict(type='B'))),
            dict(epoch=4, head=dict(margin=1.0))]


def test_stages_switch_at_their_epochs():
    hook = HOOKS.build(dict(type='StageSwitchHook', stages=_stages()))
    runner = _runner()
    hook.before_train(runner)
    seen = []
    for epoch in range(6):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        head = runner.model.head
        seen.append((head.enable_triplet, head.margin, runner.train_loop.dataloader.cfg[
            'sampler']['type'], len(runner.train_loop.dataloader)))
        runner.train_loop.iter += len(runner.train_loop.dataloader)
    assert seen == [(False, 0.3, 'A', 6)] * 2 + [(True, 0.3, 'B', 3)] * 2 + \
        [(True, 1.0, 'B', 3)] * 2
    # epochs 0-1 at 6 iterations, then 4 epochs at 3
    assert runner.train_loop._max_iters == 12 + 12
    assert runner.cfg.train_dataloader['batch_size'] == 2  # the config is left as it was


def test_a_resumed_run_starts_in_its_stage():
    hook = StageSwitchHook(_stages())
    runner = _runner(epoch=3)
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    assert runner.model.head.enable_triplet is True and runner.model.head.margin == 0.3
    assert len(runner.train_loop.dataloader) == 3


def test_bad_stages():
    with pytest.raises(ValueError, match='at least one stage'):
        StageSwitchHook([])
    with pytest.raises(ValueError, match='increasing'):
        StageSwitchHook([dict(epoch=3, head={}), dict(epoch=3, head={})])
    with pytest.raises(KeyError, match='unknown keys'):
        StageSwitchHook([dict(epoch=1, optimizer={})])
    with pytest.raises(ValueError, match='int >= 0'):
        StageSwitchHook([dict(epoch=-1)])
    hook = StageSwitchHook([dict(epoch=1, head=dict(use_triplet=True))])
    with pytest.raises(AttributeError, match="no attribute 'use_triplet'"):
        hook.before_train(_runner())
