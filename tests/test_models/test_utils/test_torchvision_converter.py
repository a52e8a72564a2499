"""Conversion of torchvision-layout MobileNetV2 / ResNet weights to mmpretrain's layout."""
import importlib.util
import os
import re
from collections import OrderedDict

import pytest
import torch
import torchvision

from mmreidparts.models.backbones import MobileNetV2ReID
from mmreidparts.models.utils import convert_mobilenet_v2, detect_layout, torchvision_to_mmpretrain

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
SHARED_WEIGHTS = os.path.join(os.path.dirname(ROOT), 'shared', 'weights',
                              'mobilenetv2_imagenet_torchvision_keys.pt')


def _randomise_bn(module):
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return module


def _flat_to_torchvision(state):
    """Rename the early flat block layout (conv.0, 1, 3, 4, 6, 7) to torchvision's nested one."""
    expanded = {'0': '0.0', '1': '0.1', '3': '1.0', '4': '1.1', '6': '2', '7': '3'}
    single = {'0': '0.0', '1': '0.1', '3': '1', '4': '2'}
    out = OrderedDict()
    for key, value in state.items():
        match = re.match(r'^features\.(\d+)\.conv\.(\d+)\.(.+)$', key)
        if match is None:
            out[key] = value
            continue
        index, module, name = match.groups()
        table = single if index == '1' else expanded
        out[f'features.{index}.conv.{table[module]}.{name}'] = value
    return out


def _compare_with_torchvision(state, path, last_stride):
    """Load ``path`` into MobileNetV2ReID and ``state`` into torchvision; compare forwards."""
    reference = torchvision.models.mobilenet_v2()
    reference.load_state_dict(state, strict=False)
    features = reference.features.eval()
    if last_stride == 1:
        features[14].conv[1][0].stride = (1, 1)  # layer6's depthwise conv
    model = MobileNetV2ReID(last_stride=last_stride, pretrained=str(path))
    model.init_weights()
    model.eval()
    x = torch.randn(1, 3, 128, 64)
    with torch.no_grad():
        ours, theirs = model(x)[0], features(x)
    assert ours.shape == theirs.shape == (1, 1280, 4 * (3 - last_stride), 2 * (3 - last_stride))
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_synthetic_torchvision_layout(tmp_path):
    reference = _randomise_bn(torchvision.models.mobilenet_v2())
    state = reference.state_dict()
    assert detect_layout(state) == 'torchvision_mobilenet_v2'
    converted = convert_mobilenet_v2(state)
    assert set(converted) == set(MobileNetV2ReID().state_dict())
    assert torch.equal(converted['layer2.1.conv.2.bn.running_var'],
                       state['features.3.conv.3.running_var'])
    path = tmp_path / 'mobilenet_v2_tv.pth'
    torch.save(state, path)
    for last_stride in (2, 1):
        _compare_with_torchvision(state, path, last_stride)


@pytest.mark.skipif(not os.path.isfile(SHARED_WEIGHTS), reason='shared weights absent')
def test_real_imagenet_weights_match_torchvision():
    state = torch.load(SHARED_WEIGHTS, map_location='cpu', weights_only=True)
    converted = torchvision_to_mmpretrain(state, 'mobilenet_v2', SHARED_WEIGHTS)
    assert len(converted) == len(state) == len(MobileNetV2ReID().state_dict())
    for last_stride in (2, 1):
        _compare_with_torchvision(_flat_to_torchvision(state), SHARED_WEIGHTS, last_stride)


def test_unknown_keys_are_named():
    state = torchvision.models.mobilenet_v2().state_dict()
    state['extra.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match=r'my\.pth.*extra\.weight'):
        convert_mobilenet_v2(state, 'my.pth')
    del state['extra.weight'], state['features.18.0.weight']
    state['features.18.0.bias'] = torch.zeros(1)
    with pytest.raises(KeyError, match='features.18'):
        convert_mobilenet_v2(state)
    with pytest.raises(ValueError, match='arch'):
        torchvision_to_mmpretrain(state, 'vgg')


def test_resnet_conversion_drops_fc():
    state = torchvision.models.resnet18().state_dict()
    assert detect_layout(state) == 'torchvision_resnet'
    converted = torchvision_to_mmpretrain(state, 'resnet')
    assert not any(k.startswith('fc.') for k in converted)
    assert len(converted) == len(state) - 2


def test_command_line_tool(tmp_path):
    path = os.path.join(ROOT, 'tools', 'model_converters', 'torchvision_to_mmpretrain.py')
    spec = importlib.util.spec_from_file_location('torchvision_to_mmpretrain', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    src, dst = tmp_path / 'in.pth', tmp_path / 'out.pth'
    state = torchvision.models.mobilenet_v2().state_dict()
    torch.save(state, src)
    tool.main([str(src), str(dst), '--arch', 'mobilenet_v2'])
    written = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(written) == set(MobileNetV2ReID().state_dict())
    assert torch.equal(written['conv2.conv.weight'], state['features.18.0.weight'])
