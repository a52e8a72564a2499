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
