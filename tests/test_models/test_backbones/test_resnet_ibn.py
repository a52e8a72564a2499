"""ResNet-50-IBN-a: the IBN layer, where it is used, the output stride, weight loading."""
import pytest
import torch
from torch import nn

from mmreidparts.models.backbones.resnet_ibn import IBN, ResNetIBN
from mmreidparts.registry import MODELS


def test_ibn_normalises_half_per_instance_half_per_batch():
    ibn = IBN(4).train()
    assert ibn.IN.num_features == 2 and ibn.BN.num_features == 2 and ibn.IN.affine
    x = torch.zeros(2, 4, 1, 2)
    x[0, 0] = torch.tensor([[1.0, 3.0]])  # instance mean 2, variance 1 -> (-1, 1)
    x[1, 0] = torch.tensor([[5.0, 5.0]])  # constant instance -> 0
    x[0, 2] = 0.0  # batch channel 2: values 0, 0, 2, 2 -> mean 1, variance 1
    x[1, 2] = 2.0
    out = ibn(x)
    assert torch.allclose(out[0, 0, 0], torch.tensor([-1.0, 1.0]), atol=1e-4)
    assert torch.allclose(out[1, 0, 0], torch.zeros(2), atol=1e-4)
    assert torch.allclose(out[0, 2, 0], torch.tensor([-1.0, -1.0]), atol=1e-4)
    assert torch.allclose(out[1, 2, 0], torch.tensor([1.0, 1.0]), atol=1e-4)
    with pytest.raises(ValueError, match='IBN'):
        IBN(1)


@pytest.fixture(scope='module')
def resnet_ibn() -> ResNetIBN:
    model = MODELS.build(dict(type='ResNetIBN', depth=50))
    model.eval()  # mmpretrain's train() returns None
    return model


def test_ibn_in_stages_1_to_3_only_and_last_stride_1(resnet_ibn):
    for stage in ('layer1', 'layer2', 'layer3'):
        for block in getattr(resnet_ibn, stage):
            assert isinstance(block.bn1, IBN)
            assert block.bn1.half == block.mid_channels // 2
            assert isinstance(block.bn2, nn.BatchNorm2d)
    assert all(type(b.bn1) is nn.BatchNorm2d for b in resnet_ibn.layer4)
    assert type(resnet_ibn.bn1) is nn.BatchNorm2d  # the stem is plain (IBN-a)
    with torch.no_grad():
        (out, ) = resnet_ibn(torch.randn(1, 3, 64, 32))
    assert out.shape == (1, 2048, 4, 2)  # output stride 16


def test_loads_ibn_net_release_layout(tmp_path, resnet_ibn):
    state = {k: torch.randn_like(v) if v.is_floating_point() else v
             for k, v in resnet_ibn.state_dict().items()}
    assert 'layer1.0.bn1.IN.weight' in state and 'layer3.5.bn1.BN.running_var' in state
    state['fc.weight'] = torch.zeros(1000, 2048)  # the release keeps its classifier
    state['fc.bias'] = torch.zeros(1000)
    path = tmp_path / 'resnet50_ibn_a.pth'
    torch.save(state, path)
    model = ResNetIBN(depth=50, pretrained=str(path))
    model.init_weights()
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    del state['layer2.0.bn1.IN.bias']
    torch.save(state, path)
    with pytest.raises(KeyError, match=r'resnet50_ibn_a.pth.*layer2.0.bn1.IN.bias'):
        ResNetIBN(depth=50, pretrained=str(path)).init_weights()


def test_bad_configs():
    with pytest.raises(ValueError, match='depth'):
        ResNetIBN(depth=18)
    with pytest.raises(ValueError, match='ibn_stages'):
        ResNetIBN(depth=50, ibn_stages=(True, ))


def test_non_local_blocks_follow_the_last_bottlenecks_and_start_as_identities(tmp_path):
    plain = ResNetIBN(depth=50).eval()
    nl = ResNetIBN(depth=50, non_local_blocks=(0, 2, 3, 0))
    nl.init_weights()
    nl.eval()
    # the release's resnet_ibn_nl: after blocks 2, 3 of stage 2 and 3, 4, 5 of stage 3
    assert sorted(nl.non_local) == ['1_2', '1_3', '2_3', '2_4', '2_5']
    assert nl.non_local['1_2'].in_channels == 512 and nl.non_local['2_5'].in_channels == 1024
    assert nl.non_local['1_2'].inter_channels == 256
    assert nl.new_layer_prefixes == ('non_local.', ) and plain.new_layer_prefixes == ()
    # zero-initialised output BN: with the same backbone weights the outputs are equal
    nl.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        assert torch.allclose(nl(x)[0], plain(x)[0], atol=1e-5)
        # once the gate opens, the blocks change the output
        for block in nl.non_local.values():
            block.conv_out.norm.weight.fill_(1.0)
        assert not torch.allclose(nl(x)[0], plain(x)[0], atol=1e-3)
    # ImageNet weights without the non-local layers load; a missing backbone key still fails
    path = tmp_path / 'resnet50_ibn_a.pth'
    torch.save(plain.state_dict(), path)
    loaded = ResNetIBN(depth=50, non_local_blocks=(0, 2, 3, 0), pretrained=str(path))
    loaded.init_weights()
    assert torch.equal(loaded.layer3[5].conv1.weight, plain.layer3[5].conv1.weight)
    assert (loaded.non_local['2_5'].conv_out.norm.weight == 0).all()
    state = plain.state_dict()
    del state['layer4.0.conv1.weight']
    torch.save(state, path)
    with pytest.raises(KeyError, match='layer4.0.conv1.weight'):
        ResNetIBN(depth=50, non_local_blocks=(0, 2, 3, 0), pretrained=str(path)).init_weights()
    with pytest.raises(ValueError, match='non_local_blocks'):
        ResNetIBN(depth=50, non_local_blocks=(0, 2, 3))
    with pytest.raises(ValueError, match='stage 0'):
        ResNetIBN(depth=50, non_local_blocks=(4, 0, 0, 0))
