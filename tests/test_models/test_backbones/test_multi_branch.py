"""MultiBranchBackbone: a shared trunk and per-branch copies of the later stages."""
import pytest
import torch

from mmreidparts.models.backbones import MobileNetV2ReID, MultiBranchBackbone, ResNetReID
from mmreidparts.registry import MODELS


def test_resnet50_mgn_branches_give_three_24x8_maps_at_384x128():
    backbone = MODELS.build(dict(type='MultiBranchBackbone',
                                 backbone=dict(type='ResNetReID', depth=50, last_stride=1)))
    keys = backbone.state_dict()
    assert 'trunk.layer3.0.conv1.weight' in keys and 'trunk.layer3.1.conv1.weight' not in keys
    assert 'trunk.layer4.0.conv1.weight' not in keys
    for b in range(3):
        assert f'branches.{b}.layer3.1.conv1.weight' in keys
        assert f'branches.{b}.layer4.2.conv3.weight' in keys
    backbone.eval()
    with torch.no_grad():
        maps = backbone(torch.randn(1, 3, 384, 128))
    assert [tuple(m.shape) for m in maps] == [(1, 2048, 24, 8)] * 3


def test_branches_start_from_the_pretrained_weights_and_match_the_plain_network(tmp_path):
    torch.manual_seed(0)
    source = ResNetReID(depth=18, last_stride=1)
    source.init_weights()
    path = tmp_path / 'r18.pth'
    torch.save(source.state_dict(), path)
    backbone = MultiBranchBackbone(
        backbone=dict(type='ResNetReID', depth=18, last_stride=1, pretrained=str(path)),
        split=('layer3', 1), num_branches=3)
    backbone.init_weights()
    for b in range(3):
        # blocks keep their names: the branch's layer3 holds block '1' of the backbone
        assert torch.equal(getattr(backbone.branches[b].layer3, '1').conv1.weight,
                           source.layer3[1].conv1.weight)
        assert torch.equal(backbone.branches[b].layer4[0].bn1.running_var,
                           source.layer4[0].bn1.running_var)
    source.eval()
    backbone.eval()
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        expected = source(x)[0]
        for out in backbone(x):
            assert torch.allclose(out, expected, atol=1e-5)


def test_random_init_is_shared_by_the_branches_and_they_then_train_apart():
    torch.manual_seed(1)
    backbone = MultiBranchBackbone(backbone=dict(type='ResNetReID', depth=18),
                                   split=('layer4', 0), num_branches=2)
    backbone.init_weights()
    w0 = backbone.branches[0].layer4[0].conv1.weight
    w1 = backbone.branches[1].layer4[0].conv1.weight
    assert torch.equal(w0, w1) and w0.data_ptr() != w1.data_ptr()
    outs = backbone(torch.randn(2, 3, 64, 32))
    outs[0].sum().backward()
    assert w0.grad is not None and w1.grad is None  # a loss on branch 0 reaches only it
    assert backbone.trunk.layer3[1].conv1.weight.grad is not None  # and the shared trunk


def test_mobilenetv2_os8_branches(tmp_path):
    torch.manual_seed(2)
    source = MobileNetV2ReID(widen_factor=0.5, output_stride=8)
    path = tmp_path / 'mnv2.pth'
    torch.save(source.state_dict(), path)
    backbone = MultiBranchBackbone(
        backbone=dict(type='MobileNetV2ReID', widen_factor=0.5, output_stride=8,
                      pretrained=str(path)), split=('layer4', 1))
    backbone.init_weights()
    assert 'branches.2.conv2.conv.weight' in backbone.state_dict()
    source.eval()
    backbone.eval()
    x = torch.randn(1, 3, 192, 64)
    with torch.no_grad():
        outs = backbone(x)
        expected = source(x)[0]
    assert [tuple(o.shape) for o in outs] == [(1, 1280, 24, 8)] * 3
    assert all(torch.allclose(o, expected, atol=1e-5) for o in outs)


def test_bad_splits_and_backbones_are_refused():
    with pytest.raises(ValueError, match='split stage'):
        MultiBranchBackbone(backbone=dict(type='ResNetReID', depth=18), split=('layer5', 0))
    with pytest.raises(ValueError, match=r'split block 2 must be in \[0, 2\)'):
        MultiBranchBackbone(backbone=dict(type='ResNetReID', depth=18), split=('layer3', 2))
    with pytest.raises(TypeError, match='ResNet and MobileNetV2'):
        MultiBranchBackbone(backbone=torch.nn.Conv2d(3, 3, 1))
    with pytest.raises(ValueError, match='init_cfg'):
        MultiBranchBackbone(backbone=dict(type='ResNetReID', depth=18),
                            init_cfg=dict(type='Pretrained', checkpoint='x.pth'))
