"""CaffeSGD: Caffe's momentum update, hand-worked, and the bias rules of paramwise_cfg."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper

from mmreidparts.engine.optimizers import CaffeSGD
from mmreidparts.utils import register_all_modules


def _run(opt_cls, lrs, **kwargs):
    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = opt_cls([w], lr=lrs[0], momentum=0.9, **kwargs)
    out = []
    for lr in lrs:
        for group in opt.param_groups:
            group['lr'] = lr
        opt.zero_grad()
        w.sum().backward()  # gradient 1
        opt.step()
        out.append(float(w))
    return out


def test_momentum_buffer_holds_lr_scaled_steps():
    # v1 = 0.1 -> w = 0.9; v2 = 0.09 + 0.1 = 0.19 -> 0.71; lr 0.01: v3 = 0.171 + 0.01 -> 0.529
    assert _run(CaffeSGD, [0.1, 0.1, 0.01]) == pytest.approx([0.9, 0.71, 0.529])
    # torch's SGD carries the old velocity at the new rate: 0.71 - 0.01 * 2.71 = 0.6829
    assert _run(torch.optim.SGD, [0.1, 0.1, 0.01]) == pytest.approx([0.9, 0.71, 0.6829])


def test_weight_decay_enters_the_step():
    # g + wd * w = 1 + 0.5 * 1 = 1.5 -> v = 0.15, w = 0.85
    assert _run(CaffeSGD, [0.1], weight_decay=0.5) == pytest.approx([0.85])


def test_paramwise_cfg_doubles_bias_lr_and_drops_bias_decay():
    register_all_modules()
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4, affine=False))
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='CaffeSGD', lr=0.01, momentum=0.9, weight_decay=2e-3),
        paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0)))
    assert isinstance(wrapper.optimizer, CaffeSGD)
    groups = {tuple(g['params'][0].shape): g for g in wrapper.optimizer.param_groups}
    assert groups[(4, 3, 1, 1)]['lr'] == 0.01 and groups[(4, 3, 1, 1)]['weight_decay'] == 2e-3
    assert groups[(4, )]['lr'] == 0.02 and groups[(4, )]['weight_decay'] == 0.0
    with pytest.raises(ValueError, match='>= 0'):
        CaffeSGD(model.parameters(), lr=-1)
