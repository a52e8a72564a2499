"""BPBreID release converter: safe loading, key mapping, K and meta, on a synthetic release.

The synthetic checkpoint has the release's layout (``module.`` prefix, HRNet names under
``backbone_appearance_feature_extractor``, the release's head names, a pickled yacs
``CfgNode`` config, optimizer / scheduler / scores) with a narrow HRNet of W32's depth, so
all key names are those of the release.
"""
import importlib.util
import json
import os
import os.path as osp
import sys
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch

from mmreidparts.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
K, NUM_IDS = 8, 5
TINY_HRNET = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ),
                num_channels=(4, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                num_channels=(2, 4)),
    stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                num_channels=(2, 4, 8)),
    stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                num_channels=(2, 4, 8, 16)))
# our model's module prefix -> the release's, written out from the release's key layout
OURS_TO_RELEASE = (
    ('backbone.increase_layers.', 'backbone_appearance_feature_extractor.incre_modules.'),
    ('backbone.', 'backbone_appearance_feature_extractor.'),
    ('head.pixel_classifier.bn.', 'pixel_classifier.bn.'),
    ('head.pixel_classifier.conv.', 'pixel_classifier.classifier.'),
    ('head.global_reduce.', 'global_after_pooling_dim_reduce.layers.'),
    ('head.foreground_reduce.', 'foreground_after_pooling_dim_reduce.layers.'),
    ('head.parts_reduce.', 'parts_after_pooling_dim_reduce.layers.'),
    ('head.global_bnneck.bn.', 'global_identity_classifier.bn.'),
    ('head.global_bnneck.fc.', 'global_identity_classifier.classifier.'),
    ('head.foreground_bnneck.bn.', 'foreground_identity_classifier.bn.'),
    ('head.foreground_bnneck.fc.', 'foreground_identity_classifier.classifier.'),
    ('head.concat_bnneck.bn.', 'concat_parts_identity_classifier.bn.'),
    ('head.concat_bnneck.fc.', 'concat_parts_identity_classifier.classifier.'),
)


def load_tool():
    path = osp.join(ROOT, 'tools', 'model_converters', 'bpbreid_to_mmreidparts.py')
    spec = importlib.util.spec_from_file_location('bpbreid_to_mmreidparts', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_model():
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='ReIDModel',
        backbone=dict(type='HRNetFused', extra=TINY_HRNET, increase_channels=(4, 8, 16, 32)),
        head=dict(type='BPBreIDHead', in_channels=60, num_classes=NUM_IDS, num_parts=K,
                  part_scheme='bpbreid8', dim_reduce=16)))


@pytest.fixture
def fake_yacs(monkeypatch):
    """A stand-in ``yacs.config.CfgNode`` importable like the real one."""
    config = types.ModuleType('yacs.config')
    package = types.ModuleType('yacs')
    package.config = config

    class CfgNode(dict):
        """Fake yacs node: a dict with attribute state, like yacs' own."""

        def __init__(self, init=None):
            super().__init__(init or {})
            self.__dict__['__immutable__'] = True

    CfgNode.__module__ = 'yacs.config'
    CfgNode.__qualname__ = 'CfgNode'
    config.CfgNode = CfgNode
    monkeypatch.setitem(sys.modules, 'yacs', package)
    monkeypatch.setitem(sys.modules, 'yacs.config', config)
    return CfgNode


def release_state(model) -> OrderedDict:
    """``model``'s tensors (random values) under the release's names."""
    state = OrderedDict()
    for key, value in model.state_dict().items():
        value = torch.randn_like(value) if value.is_floating_point() else value.clone()
        for ours, theirs in OURS_TO_RELEASE:
            if key.startswith(ours):
                state['module.' + theirs + key[len(ours):]] = value
                break
        else:
            raise AssertionError(f'no release name for {key}')
    return state


def masks_config(cfg_node, parts_num: int, preprocess: str):
    """The release config's ``model.bpbreid.masks`` part, as yacs nodes."""
    return cfg_node({'model': cfg_node({'bpbreid': cfg_node({'masks': cfg_node(
        {'parts_num': parts_num, 'preprocess': preprocess})})})})


def release_checkpoint(model, cfg_node, path, parts_num=K, extra=None):
    """Write ``model``'s weights as the BPBreID release would have saved them."""
    state = release_state(model)
    # release-only modules the converter drops
    bb = 'module.backbone_appearance_feature_extractor.'
    state[bb + 'cls_head.0.weight'] = torch.randn(512, 60, 1, 1)
    state[bb + 'cls_head.1.running_mean'] = torch.randn(512)
    state[bb + 'downsamp_modules.0.0.weight'] = torch.randn(8, 4, 3, 3)
    state[bb + 'final_layer.0.weight'] = torch.randn(2048, 32, 1, 1)
    state[bb + 'classifier.weight'] = torch.randn(1000, 2048)
    state['module.background_after_pooling_dim_reduce.layers.0.weight'] = torch.randn(16, 60)
    state['module.background_identity_classifier.bn.weight'] = torch.randn(16)
    for k in range(K):
        state[f'module.parts_identity_classifier.{k}.bn.weight'] = torch.randn(16)
        state[f'module.parts_identity_classifier.{k}.classifier.weight'] = torch.randn(
            NUM_IDS, 16)
    state.update(extra or {})
    config = cfg_node({'model': cfg_node({'bpbreid': cfg_node({'masks': cfg_node(
        {'parts_num': parts_num, 'preprocess': 'eight', 'dir': 'pifpaf_maskrcnn_filtering'})
    })}), 'data': cfg_node({'height': 384, 'width': 128})})
    ckpt = dict(state_dict=state, epoch=120, rank1=np.float32(0.751), mAP=np.float64(0.625),
                ssmd=None, config=config,
                optimizer=dict(state={}, param_groups=[dict(lr=3.5e-6, params=[0, 1])]),
                scheduler=dict(last_epoch=120, base_lrs=[3.5e-4]))
    torch.save(ckpt, path)
    return state


def test_converts_release_into_a_loadable_state_dict(tmp_path, fake_yacs):
    tool = load_tool()
    model = build_model()
    src, dst = tmp_path / 'bpbreid_occluded_duke_hrnet32_10670.pth', tmp_path / 'out.pth'
    release = release_checkpoint(model, fake_yacs, src)
    assert type(tool.load_bpbreid_checkpoint(str(src))['config']) is fake_yacs

    assert tool.main([str(src), str(dst)]) == 0
    out = torch.load(dst, weights_only=True)  # plain tensors and JSON-able meta only
    meta = out['meta']
    assert json.loads(json.dumps(meta)) == meta
    assert meta['num_parts'] == K and meta['part_scheme'] == 'bpbreid8'
    assert meta['part_names'][:3] == ['head', 'l_arm', 'r_arm']
    assert (meta['in_channels'], meta['embed_dim'], meta['num_classes']) == (60, 16, NUM_IDS)
    assert meta['source'] == src.name and meta['epoch'] == 120
    assert meta['rank1'] == pytest.approx(0.751) and meta['mAP'] == pytest.approx(0.625)
    assert meta['release_head_options']['visibility_mode'] == 'argmax'

    model.load_state_dict(out['state_dict'], strict=True)
    state = out['state_dict']
    assert torch.equal(state['head.pixel_classifier.conv.weight'],
                       release['module.pixel_classifier.classifier.weight'])
    assert torch.equal(
        state['backbone.increase_layers.3.0.downsample.1.running_var'],
        release['module.backbone_appearance_feature_extractor.incre_modules.3.0.downsample.1.'
                'running_var'])
    assert not any('background' in k or 'parts_bnnecks' in k for k in state)


def test_part_classifiers_are_kept_on_request(tmp_path, fake_yacs):
    tool = load_tool()
    src = tmp_path / 'release.pth'
    release = release_checkpoint(build_model(), fake_yacs, src)
    state = tool.convert_state_dict(tool.release_state_dict(
        tool.load_bpbreid_checkpoint(str(src)), str(src)), keep_part_classifiers=True)
    assert torch.equal(state['head.parts_bnnecks.7.fc.weight'],
                       release['module.parts_identity_classifier.7.classifier.weight'])


def test_loads_without_yacs_as_plain_dicts(tmp_path, fake_yacs, monkeypatch):
    tool = load_tool()
    src = tmp_path / 'release.pth'
    release_checkpoint(build_model(), fake_yacs, src)
    monkeypatch.setitem(sys.modules, 'yacs', None)  # yacs cannot be imported
    monkeypatch.setitem(sys.modules, 'yacs.config', None)
    ckpt = tool.load_bpbreid_checkpoint(str(src))
    assert type(ckpt['config']) is tool.PlainCfgNode
    assert ckpt['config']['model']['bpbreid']['masks']['parts_num'] == K
    meta = tool.convert(str(src), str(tmp_path / 'out.pth'))
    assert meta['num_parts'] == K


class _Payload:
    """Unpickling this would create a directory: the converter must refuse it."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.mkdir, (str(self.target), )


def test_refuses_code_in_the_pickle(tmp_path, fake_yacs):
    tool = load_tool()
    victim = tmp_path / 'pwned'
    src = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, config=fake_yacs(), extra=_Payload(victim)), src)
    with pytest.raises(ValueError, match=r'evil.pth.*mkdir'):
        tool.load_bpbreid_checkpoint(str(src))
    assert not victim.exists()


def test_errors_name_the_problem(tmp_path, fake_yacs):
    tool = load_tool()
    model = build_model()
    src = tmp_path / 'release.pth'
    release_checkpoint(model, fake_yacs, src, parts_num=5)
    with pytest.raises(ValueError, match='K=8.*parts_num=5'):
        tool.convert(str(src), str(tmp_path / 'a.pth'))
    release_checkpoint(model, fake_yacs, src, extra={'module.mystery.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='mystery.weight'):
        tool.convert(str(src), str(tmp_path / 'b.pth'))
    release_checkpoint(model, fake_yacs, src)
    with pytest.raises(ValueError, match="'bpbreid5' has 5"):
        tool.convert(str(src), str(tmp_path / 'c.pth'), part_scheme='bpbreid5')
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        tool.load_bpbreid_checkpoint(str(tmp_path / 'missing.pth'))


def test_refuses_the_checkpoints_of_other_releases(tmp_path):
    tool = load_tool()
    t = torch.zeros(2)
    eanet = tmp_path / 'ckpt.pth'  # the EANet / PAL release layout
    torch.save(dict(state_dicts=dict(model={'backbone.conv1.weight': t, 'em_list.0.0.weight': t,
                                            'cls_list.0.weight': t}), epoch=60, score=0.9),
               eanet)
    with pytest.raises(ValueError, match=r"ckpt.pth: not a BPBreID release checkpoint: "
                       r"top-level keys \['state_dict'\] are missing.*layout of the EANet / PAL"):
        tool.convert(str(eanet), str(tmp_path / 'a.pth'))
    bilinear = tmp_path / 'epoch_750.pth.tar'  # the part-aligned bilinear release layout
    torch.save(dict(app_state_dict={'input_feat.weight': t}, part_state_dict={'pose1.w': t},
                    epoch=750), bilinear)
    with pytest.raises(ValueError, match='layout of the part-aligned bilinear release'):
        tool.convert(str(bilinear), str(tmp_path / 'b.pth'))
    assert not (tmp_path / 'a.pth').exists() and not (tmp_path / 'b.pth').exists()


def test_the_five_v_grouping_becomes_bpbreid5v(tmp_path, fake_yacs):
    tool = load_tool()
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ReIDModel',
        backbone=dict(type='HRNetFused', extra=TINY_HRNET, increase_channels=(4, 8, 16, 32)),
        head=dict(type='BPBreIDHead', in_channels=60, num_classes=NUM_IDS, num_parts=5,
                  part_scheme='bpbreid5v', dim_reduce=16)))
    src = tmp_path / 'bpbreid_market1501_hrnet32_10642.pth'
    torch.save(dict(state_dict=release_state(model), config=masks_config(fake_yacs, 5, 'five_v'),
                    epoch=120), src)
    meta = tool.convert(str(src), str(tmp_path / 'out.pth'))
    assert meta['part_scheme'] == 'bpbreid5v'
    assert meta['part_names'] == ['head', 'upper_arms_torso', 'lower_arms_torso', 'legs', 'feet']

