"""The part-aligned bilinear streams: BVLC GoogLeNet, OpenPose trunk, two-stream adapter."""
import pytest
import torch
from torch import nn

from mmreidparts.models.backbones import (
    GoogLeNetBVLC,
    MobileNetV2ReID,
    OpenPoseTrunk,
    TwoStreamBackbone,
)
from mmreidparts.models.utils import InputNorm
from mmreidparts.registry import MODELS


@pytest.fixture(scope='module')
def googlenet():
    return GoogLeNetBVLC().eval()


@pytest.fixture(scope='module')
def openpose():
    return OpenPoseTrunk().eval()


def test_googlenet_is_the_caffe_network_to_inception_4e(googlenet):
    with torch.no_grad():
        out = googlenet(torch.zeros(2, 3, 160, 80))
    assert isinstance(out, tuple) and out[0].shape == (2, 832, 10, 5)  # stride 16
    assert isinstance(googlenet.norm1, nn.LocalResponseNorm) and googlenet.norm1.size == 5
    assert googlenet.pool1.ceil_mode and googlenet.pool3 is not None
    assert googlenet.inception_3a.conv_5x5.kernel_size == (5, 5)  # a true 5x5 branch
    assert googlenet.inception_4e.out_channels == 832
    assert not any(isinstance(m, nn.BatchNorm2d) for m in googlenet.modules())
    # BVLC parameter count up to inception_4e (conv weights + biases)
    assert sum(p.numel() for p in googlenet.parameters()) == 3486016


def test_googlenet_dilation_keeps_stride_8():
    net = GoogLeNetBVLC(dilation=2).eval()
    with torch.no_grad():
        out = net(torch.zeros(1, 3, 160, 80))[0]
    assert out.shape == (1, 832, 20, 10) and net.pool3 is None
    block = net.inception_4a
    assert block.conv_3x3.dilation == (2, 2) and block.conv_3x3.padding == (2, 2)
    assert block.conv_5x5.dilation == (2, 2) and block.conv_5x5.padding == (4, 4)
    assert block.pool.kernel_size == 5 and block.pool.padding == 2  # release: enlarged pool
    assert net.inception_3b.conv_3x3.dilation == (1, 1)
    dilated_pool = GoogLeNetBVLC(dilation=2, branch_pool='dilate').inception_4e.pool
    assert dilated_pool.kernel_size == 3 and dilated_pool.dilation == 2


def test_openpose_trunk_emits_the_185_channel_concat(openpose):
    with torch.no_grad():
        paf, heat, feat = openpose.stages(torch.zeros(1, 3, 160, 80))
        out = openpose(torch.zeros(1, 3, 160, 80))[0]
    assert paf.shape == (1, 38, 20, 10) and heat.shape == (1, 19, 20, 10)
    assert feat.shape == (1, 128, 20, 10) and out.shape == (1, 185, 20, 10)
    assert torch.equal(out, torch.cat([paf, heat, feat], dim=1))  # L1, L2, F order
    names = dict(openpose.named_modules())
    for layer in ('conv1_1', 'conv4_2', 'conv4_4_CPM', 'conv5_5_CPM_L1', 'Mconv7_stage2_L2'):
        assert layer in names
    assert names['Mconv1_stage2_L1'].in_channels == 185
    assert names['Mconv1_stage2_L1'].kernel_size == (7, 7)
    assert names['conv5_5_CPM_L2'].out_channels == 19


def test_openpose_channel_groups_select_the_table_1_ablations(openpose):
    joint = OpenPoseTrunk(channels=('joint', ))
    joint.load_state_dict(openpose.state_dict())
    with torch.no_grad():
        x = torch.randn(1, 3, 32, 16)
        full = openpose(x)[0]
        assert torch.equal(joint.eval()(x)[0], full[:, 38:57])
    assert OpenPoseTrunk(channels=('limb', 'internal')).out_channels == 38 + 128
    with pytest.raises(ValueError, match='subset'):
        OpenPoseTrunk(channels=('internal', 'limb'))


def test_input_norm_presets():
    bgr = torch.tensor([10.0, 120.0, 250.0]).view(1, 3, 1, 1)  # B, G, R
    assert torch.allclose(InputNorm('bvlc')(bgr).flatten(), torch.tensor([-94.0, 3.0, 127.0]))
    assert torch.allclose(InputNorm('openpose')(bgr).flatten(),
                          torch.tensor([10 / 256 - 0.5, 120 / 256 - 0.5, 250 / 256 - 0.5]))
    assert torch.allclose(InputNorm('release_pose')(bgr).flatten(),
                          torch.tensor([-94.0, 3.0, 127.0]) * 0.0039)
    rgb = InputNorm('imagenet')(bgr).flatten()  # R, G, B normalised
    assert torch.allclose(rgb, torch.tensor([(250 - 123.675) / 58.395, (120 - 116.28) / 57.12,
                                             (10 - 103.53) / 57.375]))
    assert InputNorm('none')(bgr) is bgr
    with pytest.raises(ValueError, match='unknown preset'):
        InputNorm('caffe')


def test_two_stream_pools_the_pose_map_onto_the_appearance_grid(googlenet, openpose):
    model = TwoStreamBackbone(googlenet, openpose, appearance_norm='bvlc', part_norm='openpose',
                              part_align='max2x2').eval()
    with torch.no_grad():
        app, part = model(torch.rand(2, 3, 160, 80) * 255)
    assert app.shape == (2, 832, 10, 5) and part.shape == (2, 185, 10, 5)
    with pytest.raises(ValueError, match='different grids'):
        TwoStreamBackbone(googlenet, openpose)(torch.zeros(1, 3, 64, 32))
    dilated = TwoStreamBackbone(dict(type='GoogLeNetBVLC', dilation=2),
                                dict(type='OpenPoseTrunk')).eval()
    with torch.no_grad():
        app, part = dilated(torch.zeros(1, 3, 160, 80))
    assert app.shape == (1, 832, 20, 10) and part.shape == (1, 185, 20, 10)


def test_light_part_stream_is_a_truncated_mobilenetv2_on_the_tier_grid():
    trunk = MobileNetV2ReID(output_stride=8, out_indices=(4, ), drop_unused_layers=True)
    assert trunk.layers == ['layer1', 'layer2', 'layer3', 'layer4', 'layer5']
    assert not hasattr(trunk, 'conv2') and not hasattr(trunk, 'layer6')
    assert trunk.dropped_layer_prefixes == ('layer6.', 'layer7.', 'conv2.')
    model = MODELS.build(dict(
        type='TwoStreamBackbone',
        appearance=dict(type='MobileNetV2ReID', widen_factor=0.25, output_stride=8),
        part=dict(type='MobileNetV2ReID', output_stride=8, out_indices=(4, ),
                  drop_unused_layers=True)))
    with torch.no_grad():
        app, part = model.eval()(torch.zeros(1, 3, 192, 64))
    assert app.shape[2:] == part.shape[2:] == (24, 8) and part.shape[1] == 96


def test_frozen_part_stream_does_not_move_in_an_optimizer_step():
    model = TwoStreamBackbone(
        dict(type='MobileNetV2ReID', widen_factor=0.25, output_stride=8),
        dict(type='MobileNetV2ReID', widen_factor=0.25, output_stride=8, out_indices=(3, ),
             drop_unused_layers=True),
        freeze_part=True).train()
    assert not model.part.training and model.appearance.training  # BN statistics fixed
    before = {k: v.clone() for k, v in model.part.state_dict().items()}
    app_before = model.appearance.conv1.conv.weight.detach().clone()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    app, part = model(torch.randn(2, 3, 64, 32))
    (app.sum() + (part * app[:, :part.shape[1]]).sum()).backward()
    opt.step()
    for key, value in model.part.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert not torch.equal(model.appearance.conv1.conv.weight, app_before)
