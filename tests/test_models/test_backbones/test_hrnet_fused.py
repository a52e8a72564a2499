"""HRNetFused: fused stride-4 map of HRNet-W32 and loading of the ImageNet classifier keys."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

from mmreidparts.models.backbones.hrnet_fused import HRNetFused, split_hrnet_classifier_state
from mmreidparts.registry import MODELS


@pytest.fixture(scope='module')
def hrnet() -> HRNetFused:
    torch.manual_seed(0)
    model = MODELS.build(dict(type='HRNetFused', arch='w32'))
    model.init_weights()
    model.eval()  # mmpretrain's train() returns None
    return model


def test_fused_map_shape_and_channel_layout(hrnet):
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        (out, ) = hrnet(x)
        branches = super(HRNetFused, hrnet).forward(x)
        widened = [layer(b) for layer, b in zip(hrnet.increase_layers, branches)]
    assert out.shape == (1, 1920, 16, 8)  # 128 + 256 + 512 + 1024 channels at stride 4
    assert [w.shape[1] for w in widened] == [128, 256, 512, 1024]
    assert torch.equal(out[:, :128], widened[0])  # the stride-4 branch is not resampled
    start = 128
    for w in widened[1:]:
        part = out[:, start:start + w.shape[1]]
        # bilinear with align_corners=True keeps the corner values exactly
        assert torch.allclose(part[..., 0, 0], w[..., 0, 0], atol=1e-5)
        assert torch.allclose(part[..., -1, -1], w[..., -1, -1], atol=1e-5)
        expected = F.interpolate(w, size=(16, 8), mode='bilinear', align_corners=True)
        assert torch.allclose(part, expected, atol=1e-5)
        start += w.shape[1]


def test_loads_openmmlab_hrnet_classifier_keys(tmp_path):
    torch.manual_seed(1)
    classifier = MMPRETRAIN_MODELS.build(dict(
        type='ImageClassifier',
        _scope_='mmpretrain',
        backbone=dict(type='HRNet', arch='w32'),
        neck=[dict(type='HRFuseScales', in_channels=(32, 64, 128, 256)),
              dict(type='GlobalAveragePooling')],
        head=dict(type='LinearClsHead', in_channels=2048, num_classes=10)))
    state = classifier.state_dict()
    for key, value in state.items():  # make every tensor distinctive, buffers included
        if value.is_floating_point():
            value.copy_(torch.randn_like(value))
    assert any(k.startswith('neck.0.downsample_layers.') for k in state)
    path = tmp_path / 'hrnet-w32_in1k.pth'
    torch.save(dict(state_dict=state, meta=dict(note='synthetic')), path)

    model = HRNetFused(arch='w32', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    own = model.state_dict()
    assert torch.equal(own['conv1.weight'], state['backbone.conv1.weight'])
    assert torch.equal(own['stage4.2.fuse_layers.0.3.1.running_mean'],
                       state['backbone.stage4.2.fuse_layers.0.3.1.running_mean'])
    for key, value in own.items():
        src = ('neck.0.' + key) if key.startswith('increase_layers.') else ('backbone.' + key)
        assert torch.equal(value, state[src]), key


def test_missing_keys_are_named(tmp_path):
    state = split_hrnet_classifier_state({'backbone.conv1.weight': torch.zeros(64, 3, 3, 3)})
    assert list(state) == ['conv1.weight']
    path = tmp_path / 'partial.pth'
    torch.save({'backbone.conv1.weight': torch.zeros(64, 3, 3, 3)}, path)
    model = HRNetFused(arch='w18', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(KeyError, match='partial.pth.*missing keys'):
        model.init_weights()
    with pytest.raises(KeyError, match='HRNetFused key names'):
        split_hrnet_classifier_state({'fc.weight': torch.zeros(1)}, 'other.pth')
