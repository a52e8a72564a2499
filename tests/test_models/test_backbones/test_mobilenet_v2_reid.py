"""MobileNetV2 adapter: last stride and weights in mmpretrain layout."""
import pytest
import torch

from mmreidparts.models.backbones import MobileNetV2ReID
from mmreidparts.registry import MODELS


def test_last_stride_gives_16x8_maps_of_1280_channels():
    model = MODELS.build(dict(type='MobileNetV2ReID', last_stride=1)).eval()
    with torch.no_grad():
        [out] = model(torch.zeros(1, 3, 256, 128))
    assert out.shape == (1, 1280, 16, 8)
    # the depthwise conv of layer6's first block is the one that lost its stride
    assert model.layer6[0].conv[1].conv.stride == (1, 1)
    model = MobileNetV2ReID(last_stride=2).eval()
    with torch.no_grad():
        [out] = model(torch.zeros(1, 3, 256, 128))
    assert out.shape == (1, 1280, 8, 4)
    with pytest.raises(ValueError, match='last_stride'):
        MobileNetV2ReID(last_stride=0)


def test_output_stride_8_unstrides_layer4_and_layer6_only():
    model = MobileNetV2ReID(widen_factor=0.5, output_stride=8).eval()
    with torch.no_grad():
        [out] = model(torch.zeros(1, 3, 128, 64))
    assert out.shape == (1, 1280, 16, 8)
    strides = {name: getattr(model, name)[0].conv[1].conv.stride
               for name in ('layer2', 'layer3', 'layer4', 'layer6')}
    assert strides == dict(layer2=(2, 2), layer3=(2, 2), layer4=(1, 1), layer6=(1, 1))
    assert MobileNetV2ReID(output_stride=16).layer4[0].conv[1].conv.stride == (2, 2)
    assert MobileNetV2ReID(last_stride=1, output_stride=32).layer6[0].conv[1].conv.stride \
        == (2, 2)
    with pytest.raises(ValueError, match='output_stride'):
        MobileNetV2ReID(output_stride=4)


def test_pretrained_mmpretrain_layout_loads_every_weight(tmp_path):
    source = MobileNetV2ReID()
    path = tmp_path / 'mobilenet_v2_mmpretrain.pth'
    torch.save({f'backbone.{k}': v for k, v in source.state_dict().items()}, path)
    model = MobileNetV2ReID(pretrained=str(path))
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_untrusted_pickle_is_refused(tmp_path):
    path = tmp_path / 'not_weights.pth'
    torch.save({'conv1.conv.weight': torch.zeros(1), 'meta': _Opaque()}, path)
    model = MobileNetV2ReID(pretrained=str(path))
    with pytest.raises(ValueError, match=r'not_weights\.pth.*weights_only=True'):
        model.init_weights()
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        MobileNetV2ReID(pretrained=str(tmp_path / 'missing.pth')).init_weights()


class _Opaque:
    """An object that a weights-only unpickler must not rebuild."""
