"""CPUAutocastOptimWrapper: bfloat16 forward on the CPU, float32 weights and updates."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from torch import nn

from mmreidparts.models.losses import pairwise_euclidean
from mmreidparts.utils import register_all_modules


@pytest.fixture()
def wrapper_and_model():
    register_all_modules()
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    wrapper = build_optim_wrapper(model, dict(
        type='mmreidparts.CPUAutocastOptimWrapper',
        optimizer=dict(type='SGD', lr=0.1)))
    return wrapper, model


def test_forward_in_bfloat16_weights_and_step_in_float32(wrapper_and_model):
    wrapper, model = wrapper_and_model
    x = torch.randn(5, 4)
    assert model(x).dtype == torch.float32
    before = model.weight.detach().clone().requires_grad_(True)
    bias = model.bias.detach().clone()
    with wrapper.optim_context(model):
        out = model(x)
        assert out.dtype == torch.bfloat16
        loss = out.float().square().mean()
    wrapper.update_params(loss)
    assert model.weight.dtype == torch.float32
    # the update is the float32 SGD step on the gradient of the bfloat16 forward
    with torch.autocast('cpu', dtype=torch.bfloat16):
        ref = nn.functional.linear(x, before, bias).float().square().mean()
    (grad, ) = torch.autograd.grad(ref, before)
    assert grad.abs().sum() > 0
    assert torch.allclose(model.weight, before.detach() - 0.1 * grad, atol=1e-6)


def test_dtype_is_checked():
    register_all_modules()
    with pytest.raises(ValueError, match='dtype'):
        build_optim_wrapper(nn.Linear(2, 2), dict(
            type='mmreidparts.CPUAutocastOptimWrapper', dtype='int8',
            optimizer=dict(type='SGD', lr=0.1)))


def test_triplet_distances_stay_float32_under_autocast():
    # two rows 0.1 apart at norm 20: |x|^2 + |y|^2 - 2 x.y cancels from about 400 down to
    # 0.01; float32 resolves it, bfloat16 (8 significant bits) does not
    x = torch.full((2, 4), 10.0)
    x[1, 0] += 0.1
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = pairwise_euclidean(x, x)
        naive = torch.addmm((x * x).sum(1, keepdim=True) + (x * x).sum(1)[None], x, x.t(),
                            alpha=-2.0).clamp(min=0).sqrt()
    assert out.dtype == torch.float32
    assert out[0, 1] == pytest.approx(0.1, rel=1e-3)
    assert out[0, 0] == pytest.approx(0.0, abs=1e-3)
    assert abs(float(naive[0, 1]) - 0.1) > 0.05  # what the loss would see in bfloat16


def _load_train_tool():
    import importlib.util
    import os.path as osp
    import sys
    tools = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools')
    sys.path.insert(0, tools)
    try:
        spec = importlib.util.spec_from_file_location('train_tool', osp.join(tools, 'train.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(tools)
    return module


@pytest.mark.parametrize('kernels,force,expected', [
    (True, '', True), (False, '', False), (False, '1', True), (False, '0', False)])
def test_cpu_amp_is_dropped_without_bfloat16_kernels_unless_forced(monkeypatch, kernels,
                                                                  force, expected):
    from mmreidparts.engine.optim_wrappers import cpu_autocast_optim_wrapper as mod
    monkeypatch.setattr(mod, 'cpu_bfloat16_supported', lambda: kernels)
    monkeypatch.setenv(mod.FORCE_CPU_AMP_ENV, force)
    use, message = mod.resolve_cpu_amp(True)
    assert use is expected
    if kernels:
        assert message == ''  # nothing to say on a CPU with bfloat16 kernels
    else:
        assert 'no bfloat16 kernels' in message and mod.FORCE_CPU_AMP_ENV in message
        assert ('ignored' in message) is (not expected)
    assert mod.resolve_cpu_amp(False) == (False, '')


@pytest.mark.skipif(torch.cuda.is_available(), reason='--amp picks float16 AMP on CUDA')
@pytest.mark.parametrize('kernels', [True, False])
def test_train_amp_on_a_cpu_without_bfloat16_kernels_trains_in_float32(monkeypatch, capsys,
                                                                       kernels):
    import argparse

    from mmengine.config import Config

    from mmreidparts.engine.optim_wrappers import cpu_autocast_optim_wrapper as mod
    monkeypatch.setattr(mod, 'cpu_bfloat16_supported', lambda: kernels)
    monkeypatch.delenv(mod.FORCE_CPU_AMP_ENV, raising=False)
    train = _load_train_tool()
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper',
                                         optimizer=dict(type='SGD', lr=0.1))))
    args = argparse.Namespace(work_dir='work', amp=True, resume=None, no_validate=False,
                              auto_scale_lr=False, seed=None, launcher='none')
    cfg = train.merge_args(cfg, args)
    out = capsys.readouterr().out
    if kernels:
        assert cfg.optim_wrapper.type == 'CPUAutocastOptimWrapper'
        assert cfg.optim_wrapper.dtype == 'bfloat16'
    else:
        assert cfg.optim_wrapper.type == 'OptimWrapper' and 'dtype' not in cfg.optim_wrapper
        assert '--amp ignored' in out and 'float32' in out
