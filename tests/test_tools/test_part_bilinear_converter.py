"""Part-aligned bilinear weights: BVLC GoogLeNet, CMU OpenPose and the release, converted.

Every checkpoint here is built by the test with the key names and shapes of the shared
files (Caffe layer names for GoogLeNet and OpenPose, the release's module names for
``epoch_750.pth.tar``), filled with distinct random values.
"""
import copy
import json
import os.path as osp
import re

import numpy as np
import pytest
import torch
from _tool_utils import ROOT, run_tool
from mmengine.config import Config

from mmreidparts.models.backbones import GoogLeNetBVLC, MobileNetV2ReID, OpenPoseTrunk
from mmreidparts.models.utils import count_sketch_matrix, sketch_hashes
from mmreidparts.registry import MODELS
from mmreidparts.utils import load_reid_checkpoint, register_all_modules, strip_pretrained

RELEASE_CFG = osp.join(ROOT, 'configs', 'part_bilinear',
                       'bilinear_googlenet_openpose_d2_1xb250_market1501_release.py')
TOOL = 'tools/model_converters/part_bilinear_to_mmreidparts.py'


def caffe_googlenet_name(key: str) -> str:
    """``inception_3a.conv_1x1.weight`` -> ``inception_3a/1x1.weight`` (Caffe layer names)."""
    layer, param = key.rsplit('.', 1)
    if layer.startswith(('conv1_', 'conv2_')):
        return f'{layer[:5]}/{layer[6:]}.{param}'
    block, branch = layer.split('.')
    return f'{block}/{branch.replace("conv_", "")}.{param}'


def release_googlenet_name(key: str) -> str:
    """``inception_3a.conv_1x1.weight`` -> ``inception_3a._1x1.weight`` (release modules)."""
    layer, param = key.rsplit('.', 1)
    if layer.startswith(('conv1_', 'conv2_')):
        return f'{layer[:5]}__{layer[6:]}.{param}'
    block, branch = layer.split('.')
    branch = branch.replace('conv_', '_')
    return f'{block}.{branch}.{param}'


def randomized(module: torch.nn.Module, seed: int) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=gen) for k, v in module.state_dict().items()}


@pytest.fixture(scope='module')
def googlenet_state():
    return randomized(GoogLeNetBVLC(), 0)


@pytest.fixture(scope='module')
def openpose_state():
    return randomized(OpenPoseTrunk(), 1)


def test_bvlc_googlenet_in_caffe_names_loads_as_pretrained(tmp_path, googlenet_state):
    caffe = {caffe_googlenet_name(k): v.numpy() if 'inception_4' in k else v
             for k, v in googlenet_state.items()}  # some values as numpy arrays
    assert 'conv1/7x7_s2.weight' in caffe and 'inception_4e/5x5_reduce.bias' in caffe
    caffe['inception_5b/pool_proj.weight'] = torch.zeros(128, 832, 1, 1)  # unused layers
    caffe['loss3/classifier.weight'] = torch.zeros(1000, 1024)
    path = tmp_path / 'bvlc_googlenet.caffemodel.pth'
    torch.save(caffe, path)
    net = GoogLeNetBVLC(pretrained=str(path))
    net.init_weights()
    for key, value in googlenet_state.items():
        assert torch.equal(net.state_dict()[key], value), key


def test_release_appearance_stream_loads_as_googlenet_weights(tmp_path, googlenet_state):
    app = {release_googlenet_name(k): v for k, v in googlenet_state.items()}
    assert 'conv1__7x7_s2.weight' in app and 'inception_3a._3x3_reduce.bias' in app
    path = tmp_path / 'googlenet_release_names.pth'
    torch.save({'app_state_dict': app, 'epoch': 3}, path)
    net = GoogLeNetBVLC(pretrained=str(path))
    net.init_weights()
    assert torch.equal(net.inception_4d.pool_proj.weight,
                       googlenet_state['inception_4d.pool_proj.weight'])


@pytest.mark.parametrize('prefix', ['', 'model0.', 'module.part_feat_extractor.'])
def test_cmu_openpose_coco_names_load_with_or_without_a_module_prefix(tmp_path, openpose_state,
                                                                      prefix):
    state = {prefix + k: v for k, v in openpose_state.items()}
    for stage in range(3, 7):  # the CMU model has six stages; the trunk keeps two
        state[f'{prefix}Mconv1_stage{stage}_L1.weight'] = torch.zeros(128, 185, 7, 7)
    path = tmp_path / 'pose_iter_440000.caffemodel.pth'
    torch.save(state, path)
    net = OpenPoseTrunk(pretrained=str(path))
    net.init_weights()
    for key, value in openpose_state.items():
        assert torch.equal(net.state_dict()[key], value), key


def test_part_stream_checkpoints_of_another_layout_stop_with_the_keys(tmp_path,
                                                                      openpose_state):
    mobilenet = {f'features.{i}.0.weight': torch.zeros(1) for i in range(3)}
    path = tmp_path / 'mobilenet.pth'
    torch.save(mobilenet, path)
    with pytest.raises(KeyError, match=r'not layers of the OpenPose.*features\.0\.0\.weight'):
        OpenPoseTrunk(pretrained=str(path)).init_weights()
    # an OpenPose checkpoint given to the light MobileNetV2 part stream
    pose = tmp_path / 'pose.pth'
    torch.save(openpose_state, pose)
    light = MobileNetV2ReID(output_stride=8, out_indices=(4, ), drop_unused_layers=True,
                            pretrained=str(pose))
    with pytest.raises(KeyError, match=r'missing keys .*conv1\.conv\.weight.*unexpected keys '
                                       r'.*conv1_1\.weight'):
        light.init_weights()
    # a pose model of another skeleton (MPI: 15 joints + background, 28 fields)
    mpi = dict(openpose_state, **{'conv5_5_CPM_L2.weight': torch.zeros(16, 512, 1, 1),
                                  'conv5_5_CPM_L2.bias': torch.zeros(16)})
    torch.save(mpi, pose)
    with pytest.raises(KeyError, match=r'shape mismatches.*conv5_5_CPM_L2\.weight \(16, 512'):
        OpenPoseTrunk(pretrained=str(pose)).init_weights()


@pytest.fixture(scope='module')
def release_checkpoint(tmp_path_factory, googlenet_state, openpose_state):
    """A release epoch_750.pth.tar with its args.json (dilation 2, 512-d sketch)."""
    folder = tmp_path_factory.mktemp('d2_b250')
    gen = torch.Generator().manual_seed(2)
    app = {release_googlenet_name(k): v for k, v in googlenet_state.items()}
    app.update({'input_feat.weight': torch.randn(512, 832, 1, 1, generator=gen),
                'input_feat.bias': torch.randn(512, generator=gen),
                'bn.running_mean': torch.randn(512, generator=gen),
                'bn.running_var': torch.rand(512, generator=gen) + 0.5})
    part = dict(openpose_state)
    part.update({'pose1.weight': torch.randn(128, 185, 3, 3, generator=gen),
                 'pose1.bias': torch.randn(128, generator=gen),
                 'bn.running_mean': torch.randn(128, generator=gen),
                 'bn.running_var': torch.rand(128, generator=gen) + 0.5})
    path = folder / 'epoch_750.pth.tar'
    torch.save({'app_state_dict': app, 'part_state_dict': part, 'epoch': 750}, path)
    (folder / 'args.json').write_text(json.dumps(
        {'features': 512, 'dilation': 2, 'use_relu': False, 'batch_size': 250}))
    return dict(path=str(path), folder=folder, app=app, part=part)


@pytest.fixture(scope='module')
def release_model():
    """The model of the release config (every load below overwrites all its tensors)."""
    register_all_modules()
    cfg = Config.fromfile(RELEASE_CFG)
    return MODELS.build(strip_pretrained(copy.deepcopy(cfg.model.to_dict())))


def test_release_checkpoint_converts_to_the_release_config(tmp_path, release_checkpoint,
                                                           release_model):
    from tools.model_converters.part_bilinear_to_mmreidparts import convert
    dst = tmp_path / 'bilinear_market1501_d2.pth'
    meta = convert(release_checkpoint['path'], str(dst), config=RELEASE_CFG)
    assert meta['kind'] == 'release' and meta['sketch_dim'] == 512 and meta['dilation'] == 2
    assert meta['epoch'] == 750 and meta['seeds'] == [1, 3, 5, 7]
    model = release_model
    load_reid_checkpoint(model, str(dst))  # strict: every tensor and shape
    app, part = release_checkpoint['app'], release_checkpoint['part']
    assert torch.equal(model.backbone.appearance.inception_4e.conv_5x5.weight,
                       app['inception_4e._5x5.weight'])
    assert torch.equal(model.backbone.part.Mconv7_stage2_L2.bias, part['Mconv7_stage2_L2.bias'])
    assert torch.equal(model.head.app_embed.conv.weight, app['input_feat.weight'])
    assert torch.equal(model.head.app_embed.bn.running_var, app['bn.running_var'])
    assert torch.equal(model.head.part_embed.conv.weight, part['pose1.weight'])
    assert torch.equal(model.head.part_embed.bn.running_mean, part['bn.running_mean'])
    # the sketches are the release's, regenerated from numpy seeds 1, 3 and 5, 7
    h, s = sketch_hashes(128, 512, 5, 7)
    assert torch.equal(model.head.pooling.sketch_p, count_sketch_matrix(h, s, 512))
    # the converted model runs and gives unit descriptors
    model.eval()
    with torch.no_grad():
        out = model.predict(torch.rand(2, 3, 160, 80) * 255)
    assert out[0].embeddings.shape == (1, 512)


def test_release_with_another_sketch_dimension_stops_with_the_keys(tmp_path,
                                                                   release_checkpoint,
                                                                   release_model):
    from tools.model_converters.part_bilinear_to_mmreidparts import convert
    with pytest.raises(RuntimeError, match=r'head\.pooling\.sketch_a: checkpoint \(512, 1024\) '
                                           r'vs model \(512, 512\)'):
        convert(release_checkpoint['path'], str(tmp_path / 'x.pth'), sketch_dim=1024,
                config=RELEASE_CFG)
    # converted without the check, the same mismatch stops tools/test.py's loader
    convert(release_checkpoint['path'], str(tmp_path / 'd1024.pth'), sketch_dim=1024)
    with pytest.raises(RuntimeError, match=r'sketch_p: checkpoint \(128, 1024\)'):
        load_reid_checkpoint(release_model, str(tmp_path / 'd1024.pth'))
    # the release's args.json says the model was trained without dilation
    args = tmp_path / 'args.json'
    args.write_text(json.dumps({'features': 512, 'dilation': 1}))
    with pytest.raises(RuntimeError, match=r'dilation: release 1 vs config 2'):
        convert(release_checkpoint['path'], str(tmp_path / 'y.pth'), args_json=str(args),
                config=RELEASE_CFG)


@pytest.mark.slow
def test_converter_command_line(tmp_path, release_checkpoint, googlenet_state):
    dst = tmp_path / 'converted.pth'
    proc = run_tool([TOOL, release_checkpoint['path'], str(dst), '--sketch-dim', '256'])
    meta = json.loads(proc.stdout[:proc.stdout.rindex('}') + 1])
    assert meta['sketch_dim'] == 256 and meta['tensors']['head.pooling'] == 2
    state = torch.load(dst, weights_only=True)['state_dict']
    assert state['head.pooling.sketch_a'].shape == (512, 256)
    proc = run_tool([TOOL, release_checkpoint['path'], str(tmp_path / 'bad.pth'),
                     '--sketch-dim', '256', '--config', RELEASE_CFG], check=False)
    assert proc.returncode != 0
    assert re.search(r'conversion failed: .*sketch_a: checkpoint \(512, 256\)', proc.stderr,
                     re.DOTALL)
    caffe = tmp_path / 'bvlc.pth'
    torch.save({caffe_googlenet_name(k): np.asarray(v) for k, v in googlenet_state.items()},
               caffe)
    proc = run_tool([TOOL, str(caffe), str(tmp_path / 'g.pth')])
    assert '"kind": "googlenet"' in proc.stdout
    state = torch.load(tmp_path / 'g.pth', weights_only=True)['state_dict']
    assert set(state) == set(googlenet_state)
