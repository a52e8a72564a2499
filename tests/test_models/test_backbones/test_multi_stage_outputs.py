"""Multi-stage backbone outputs for multi-scale heads (DROP, drop.md 10.1-2).

HRNet-W32 with ``fuse=False`` returns the four widened branches (128/256/512/1024 channels
at H/2^(i+1) x W/2^(i+1)), whose fusion is the map of ``fuse=True``; ResNet-50 with last
stride 1 returns C2..C5; the CPU tier's MobileNetV2 at output stride 8 returns four stages.
"""
import pytest
import torch

from mmreidparts.models.utils.multi_scale import resize_concat
from mmreidparts.registry import MODELS
from mmreidparts.utils import register_all_modules

register_all_modules()


@pytest.fixture(scope='module')
def hrnet_stages():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='HRNetFused', arch='w32', fuse=False))
    model.init_weights()
    model.eval()  # mmpretrain's train() returns None
    return model


@pytest.mark.parametrize('size', [(256, 128), (128, 64)])
def test_hrnet_branches_after_the_increase_layers(hrnet_stages, size):
    with torch.no_grad():
        outs = hrnet_stages(torch.randn(1, 3, *size))
    assert hrnet_stages.out_channels == (128, 256, 512, 1024)
    assert [o.shape[1] for o in outs] == [128, 256, 512, 1024]
    assert [tuple(o.shape[2:]) for o in outs] == [
        (size[0] >> (i + 2), size[1] >> (i + 2)) for i in range(4)]


def test_hrnet_fused_map_is_the_concatenation_of_the_branches(hrnet_stages):
    fused = MODELS.build(dict(type='HRNetFused', arch='w32', fuse=True))
    fused.eval()
    fused.load_state_dict(hrnet_stages.state_dict())  # same weights, one key layout
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        (out, ) = fused(x)
        branches = hrnet_stages(x)
    assert torch.equal(out, resize_concat(branches, align_corners=True))
    assert torch.equal(out[:, :128], branches[0])


def test_resnet50_returns_c2_to_c5_with_last_stride_1():
    model = MODELS.build(dict(type='ResNetReID', depth=50, last_stride=1,
                              out_indices=(0, 1, 2, 3)))
    model.eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 256, 128))
    assert [tuple(o.shape[1:]) for o in outs] == [
        (256, 64, 32), (512, 32, 16), (1024, 16, 8), (2048, 16, 8)]


def test_tier_mobilenetv2_returns_four_stages():
    model = MODELS.build(dict(type='MobileNetV2ReID', widen_factor=1.0, output_stride=8,
                              out_indices=(1, 2, 4, 7)))
    model.eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 192, 64))
    assert [tuple(o.shape[1:]) for o in outs] == [
        (24, 48, 16), (32, 24, 8), (96, 24, 8), (1280, 24, 8)]
