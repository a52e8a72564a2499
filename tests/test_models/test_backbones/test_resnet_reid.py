"""ResNet adapter: last stride and pretrained loading (mmpretrain and torchvision layouts)."""
import pytest
import torch
import torchvision

from mmreidparts.models.backbones import ResNetReID
from mmreidparts.registry import MODELS


def test_last_stride_gives_16x8_maps_at_256x128():
    model = MODELS.build(dict(type='ResNetReID', depth=18, last_stride=1)).eval()
    with torch.no_grad():
        [out] = model(torch.zeros(1, 3, 256, 128))
    assert out.shape == (1, 512, 16, 8)  # output stride 16
    model = ResNetReID(depth=18, last_stride=2).eval()
    with torch.no_grad():
        [out] = model(torch.zeros(1, 3, 256, 128))
    assert out.shape == (1, 512, 8, 4)  # output stride 32
    with pytest.raises(ValueError, match='last_stride'):
        ResNetReID(depth=18, last_stride=3)


def test_pretrained_from_classifier_checkpoint(tmp_path):
    source = ResNetReID(depth=18)
    # an OpenMMLab classifier checkpoint: backbone.* and head.* under state_dict
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(10, 512)
    path = tmp_path / 'resnet18_cls.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), path)
    model = ResNetReID(depth=18, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_pretrained_torchvision_layout_matches_torchvision_forward(tmp_path):
    reference = torchvision.models.resnet18().eval()
    with torch.no_grad():  # non-trivial BN statistics
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    path = tmp_path / 'resnet18_torchvision.pth'
    torch.save(reference.state_dict(), path)
    model = ResNetReID(depth=18, last_stride=2, pretrained=str(path))
    model.init_weights()
    model.eval()
    trunk = torch.nn.Sequential(*list(reference.children())[:-2])  # without avgpool, fc
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        assert torch.allclose(model(x)[0], trunk(x), atol=1e-5)


def test_mismatched_checkpoint_names_file_and_keys(tmp_path):
    path = tmp_path / 'resnet50.pth'
    torch.save(ResNetReID(depth=50).state_dict(), path)
    model = ResNetReID(depth=18, pretrained=str(path))
    with pytest.raises(KeyError, match=r'resnet50\.pth.*unexpected keys.*layer1\.0\.conv3'):
        model.init_weights()
