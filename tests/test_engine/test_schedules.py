"""Learning-rate schedules of the configs, simulated epoch by epoch."""
import glob
import os.path as osp
from typing import List

import mmengine.optim  # noqa: F401 (registers the schedulers)
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p)


def epoch_lrs(cfg: Config) -> List[float]:
    """The learning rate of every epoch of ``cfg``'s epoch-based schedule."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s), default_args=dict(optimizer=opt))
        for s in cfg.param_scheduler
    ]
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs):
        lrs.append(opt.param_groups[0]['lr'])
        for s in schedulers:
            s.step()
    return lrs


def test_bot_schedule_hand_worked():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'baseline', 'bot_r50_1xb64_market1501.py'))
    lrs = epoch_lrs(cfg)
    # warm-up 3.5e-5 -> 3.5e-4 over 10 epochs (+3.15e-5 per epoch), then x0.1 at 40 and 70
    expected = {0: 3.5e-5, 1: 6.65e-5, 5: 1.925e-4, 10: 3.5e-4, 39: 3.5e-4, 40: 3.5e-5,
                69: 3.5e-5, 70: 3.5e-6, 119: 3.5e-6}
    for epoch, lr in expected.items():
        assert lrs[epoch] == pytest.approx(lr, rel=1e-6), epoch
    assert len(lrs) == 120


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_every_warm_up_reaches_the_base_lr(path):
    cfg = Config.fromfile(path)
    if not cfg.get('param_scheduler') or not cfg.train_cfg.get('by_epoch', True):
        pytest.skip('no epoch-based schedule')
    base = cfg.optim_wrapper.optimizer.lr
    lrs = epoch_lrs(cfg)
    # a warm-up must end at the base lr before any step decay (LinearLR(end=1) never does)
    assert max(lrs) == pytest.approx(base, rel=1e-6), (path, lrs[:5])
    assert lrs[-1] <= base
