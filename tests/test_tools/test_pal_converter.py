"""tools/model_converters/pal_to_mmreidparts.py on state dicts in the releases' layouts.

The tests build EANet (GlobalPool / PCB, Python 2.7 pickles) and PAL-MGN (MGN, MGN+PS)
checkpoints with the releases' key names and shapes (torchvision ResNet-50 modules), convert
them, and check that the mmreidparts model computes what the released model computes.
"""
import copy
import importlib.util
import os.path as osp
import pickle
import struct
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from _tool_utils import ROOT
from torch import nn

from mmreidparts.registry import MODELS
from mmreidparts.utils import load_reid_checkpoint, register_all_modules

TOOL = osp.join(ROOT, 'tools', 'model_converters', 'pal_to_mmreidparts.py')
CLASSES = 5
register_all_modules()


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('pal_to_mmreidparts', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------- Python 2.7 pickles
class _Py2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2 byte strings (SHORT_BINSTRING / BINSTRING)."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_string(self, obj):
        data = obj.encode('latin1') if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack('<i', len(data)) + data)
        self.memoize(obj)

    dispatch[str] = _save_py2_string
    dispatch[bytes] = _save_py2_string


def save_py2(obj, path):
    """``torch.save`` in the legacy format with Python 2 strings, as PyTorch 1.0 on 2.7 did."""
    module = types.ModuleType('py2_pickle')
    module.Pickler = _Py2Pickler
    module.dump = lambda o, f, protocol=2: _Py2Pickler(f, protocol).dump(o)
    torch.save(obj, path, pickle_module=module, pickle_protocol=2,
               _use_new_zipfile_serialization=False)


# ----------------------------------------------------------- release layouts
def _randomise_bn(module, gen):
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)


def _resnet50_last_stride1(gen):
    net = torchvision.models.resnet50()
    net.layer4[0].conv2.stride = (1, 1)
    net.layer4[0].downsample[0].stride = (1, 1)
    _randomise_bn(net, gen)
    return net.eval()


def _put(state, prefix, module):
    for k, v in module.state_dict().items():
        state[prefix + k] = v.clone()


def _ps_modules(gen, classes=8):
    deconv = nn.ConvTranspose2d(2048, 256, 3, 2, 1, output_padding=1, bias=False)
    bn, conv = nn.BatchNorm2d(256), nn.Conv2d(256, classes, 1)
    _randomise_bn(bn, gen)
    return deconv, bn, conv


def eanet_model(parts, em_dim, ps=True, seed=0):
    """EANet's modules (backbone, em_list, cls_list, ps_head) and their state dict."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = _resnet50_last_stride1(gen)
    ems = [nn.Sequential(nn.Linear(2048, em_dim), nn.BatchNorm1d(em_dim), nn.ReLU()).eval()
           for _ in range(parts)]
    for em in ems:
        _randomise_bn(em, gen)
    clss = [nn.Linear(em_dim, CLASSES) for _ in range(parts)]
    state = OrderedDict()
    _put(state, 'backbone.', net)  # torchvision names, with the fc classifier
    for i, (em, cls) in enumerate(zip(ems, clss)):
        _put(state, f'em_list.{i}.', em)
        _put(state, f'cls_list.{i}.', cls)
    if ps:
        for name, m in zip(('deconv', 'bn', 'conv'), _ps_modules(gen)):
            _put(state, f'ps_head.{name}.', m)
    return net, ems, clss, state


class ReleaseMGN(nn.Module):
    """PAL-MGN's modules under the release's attribute names (conv5 at stride 1)."""

    def __init__(self, gen, ps=True):
        super().__init__()
        net = _resnet50_last_stride1(gen)
        self.backbone = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1,
                                      net.layer2, net.layer3[0])
        for b in (1, 2, 3):
            branch = nn.Sequential(copy.deepcopy(nn.Sequential(*net.layer3[1:])),
                                   copy.deepcopy(net.layer4))
            _randomise_bn(branch, gen)  # each branch its own weights: the mapping shows
            setattr(self, f'p{b}', branch)
        for k in range(8):
            red = nn.Sequential(nn.Conv2d(2048, 256, 1, bias=False), nn.BatchNorm2d(256),
                                nn.ReLU())
            _randomise_bn(red, gen)
            setattr(self, f'reduction_{k}', red)
        for j in range(3):
            setattr(self, f'fc_id_2048_{j}_tmp', nn.Linear(2048, 2048))
            add = nn.Sequential(nn.BatchNorm1d(2048), nn.ReLU())
            _randomise_bn(add, gen)
            setattr(self, f'add_part_{j + 1}', add)
            setattr(self, f'fc_id_2048_{j}', nn.Linear(2048, CLASSES))
            setattr(self, f'embedding_{j + 1}', nn.Sequential(nn.Linear(256, 256)))
        for s in range(2):
            setattr(self, f'fc_id_256_1_{s}', nn.Linear(256, CLASSES))
        for s in range(3):
            setattr(self, f'fc_id_256_2_{s}', nn.Linear(256, CLASSES))
        if ps:
            self.ps_head = nn.Module()
            for name, m in zip(('deconv', 'bn', 'conv'), _ps_modules(gen)):
                setattr(self.ps_head, name, m)
        self.eval()

    def features(self, x):
        """The release's test feature before the flip sum, and its 8 logits."""
        x = self.backbone(x)
        maps = [self.p1(x), self.p2(x), self.p3(x)]
        glob = [F.adaptive_max_pool2d(m, 1) for m in maps]
        fg = [getattr(self, f'embedding_{j + 1}')(
            getattr(self, f'reduction_{j}')(glob[j]).flatten(1)) for j in range(3)]
        h = maps[1].shape[2]
        stripes = [F.max_pool2d(maps[1], (h // 2, maps[1].shape[3]))[:, :, s:s + 1]
                   for s in range(2)]
        stripes += [F.max_pool2d(maps[2], (h // 3, maps[2].shape[3]))[:, :, s:s + 1]
                    for s in range(3)]
        fs = [getattr(self, f'reduction_{3 + s}')(z).flatten(1) for s, z in enumerate(stripes)]
        logits = [getattr(self, f'fc_id_2048_{j}')(getattr(self, f'add_part_{j + 1}')(
            getattr(self, f'fc_id_2048_{j}_tmp')(glob[j].flatten(1)))) for j in range(3)]
        logits += [getattr(self, f'fc_id_256_1_{s}')(fs[s]) for s in range(2)]
        logits += [getattr(self, f'fc_id_256_2_{s}')(fs[2 + s]) for s in range(3)]
        return torch.cat(fg + fs, dim=1), logits


def _our_model(kind, **head):
    backbone = dict(type='ResNetReID', depth=50, last_stride=1)
    if kind == 'mgn':
        cfg = dict(type='ReIDModel',
                   backbone=dict(type='MultiBranchBackbone', backbone=backbone,
                                 split=('layer3', 1)),
                   head=dict(type='MGNHead', in_channels=2048, num_classes=CLASSES, **head),
                   test_cfg=dict(flip=True, flip_merge='sum'))
    else:
        head_type = dict(globalpool='GlobalPoolHead', pcb='PCBHead')[kind]
        cfg = dict(type='ReIDModel', backbone=backbone,
                   head=dict(type=head_type, in_channels=2048, num_classes=CLASSES, **head))
    pre = dict(type='ReIDDataPreprocessor', mean=None, std=None, to_rgb=False)
    return MODELS.build(dict(cfg, data_preprocessor=pre)).eval()


def _predict(model, x):
    with torch.no_grad():
        return torch.stack([s.embeddings for s in model.predict(x)])


# ----------------------------------------------------------- EANet
@pytest.mark.slow
def test_eanet_pcb_ps_from_python2_matches_the_release(tool, tmp_path):
    net, ems, clss, state = eanet_model(parts=6, em_dim=256)
    src = str(tmp_path / 'ckpt.pth')
    save_py2(dict(state_dicts=dict(model=state), epoch=59, score=np.float64(0.932)), src)
    dst = str(tmp_path / 'pcb.pth')
    meta = tool.convert(src, dst)  # variant read from the keys
    assert meta['variant'] == 'pcb' and meta['release'] == 'EANet'
    assert meta['num_classes'] == CLASSES and meta['embed_dim'] == 256
    assert meta['ps_head_in_release'] and not meta['ps_head_kept']
    saved = torch.load(dst, weights_only=True)['state_dict']
    assert not any('ps_head' in k for k in saved) and 'backbone.fc.weight' not in saved
    model = _our_model('pcb')
    load_reid_checkpoint(model, dst)  # strict: every tensor of the model is in the file
    x = torch.randn(2, 3, 96, 32)
    ours = _predict(model, x)[:, 0]  # [2, 1536]
    with torch.no_grad():
        feat = net.layer4(net.layer3(net.layer2(net.layer1(net.maxpool(net.relu(net.bn1(
            net.conv1(x))))))))  # [2, 2048, 6, 2]
        release = torch.cat([F.normalize(em(feat[:, :, i:i + 1].amax(dim=(2, 3))), dim=1)
                             for i, em in enumerate(ems)], dim=1)
        logits = model.head(model.extract_feat(x))['logits']
        for i, (em, cls) in enumerate(zip(ems, clss)):
            ref = cls(em(feat[:, :, i:i + 1].amax(dim=(2, 3))))
            assert torch.allclose(logits[i], ref, atol=1e-4)
    # the release concatenates unit stripes (norm sqrt(6)); ours is scaled to unit length
    assert torch.allclose(ours * 6**0.5, release, atol=1e-4)
    kept = tool.convert(src, str(tmp_path / 'pcb_ps.pth'), 'pcb', keep_ps_head=True)
    assert kept['ps_head_kept'] and kept['ps_num_classes'] == 8
    state = torch.load(str(tmp_path / 'pcb_ps.pth'), weights_only=True)['state_dict']
    assert state['aux_heads.ps_head.hidden.0.conv.weight'].shape == (2048, 256, 3, 3)


@pytest.mark.slow
def test_eanet_globalpool_loads_into_its_config_only(tool, tmp_path):
    _, _, _, state = eanet_model(parts=1, em_dim=512, ps=False)
    src = str(tmp_path / 'gp.pth')
    save_py2(dict(state_dicts=dict(model=state), epoch=59), src)
    meta = tool.convert(src, str(tmp_path / 'gp_out.pth'), 'globalpool')
    assert meta['variant'] == 'globalpool' and meta['embed_dim'] == 512
    assert meta['cfg_options'] == [f'model.head.num_classes={CLASSES}']
    load_reid_checkpoint(_our_model('globalpool'), str(tmp_path / 'gp_out.pth'))
    # a converted checkpoint given to the other model's config stops naming the file
    with pytest.raises(RuntimeError, match=r'gp_out\.pth does not match'):
        load_reid_checkpoint(_our_model('pcb'), str(tmp_path / 'gp_out.pth'))


def _layout(path, keys):
    """A small file with the given release keys (the variant checks read only the keys)."""
    torch.save(OrderedDict((k, torch.zeros(1)) for k in keys), path)
    return str(path)


def test_a_checkpoint_of_the_wrong_variant_names_the_file_and_the_key(tool, tmp_path):
    gp = _layout(tmp_path / 'gp.pth', ['em_list.0.0.weight', 'cls_list.0.weight'])
    with pytest.raises(ValueError, match=r'gp\.pth: --variant pcb expects 6 .*the file has 1 '
                                         r'\(em_list\.0 \.\. em_list\.0\): a globalpool'):
        tool.convert(gp, str(tmp_path / 'x.pth'), 'pcb')
    with pytest.raises(ValueError, match=r'gp\.pth: --variant mgn .*em_list\.0\.0\.weight'):
        tool.convert(gp, str(tmp_path / 'x.pth'), 'mgn')
    mgn = _layout(tmp_path / 'mgn.pth', ['p1.0.0.conv1.weight'])
    mgn_ps = _layout(tmp_path / 'mgn_ps.pth', ['p1.0.0.conv1.weight', 'ps_head.deconv.weight'])
    with pytest.raises(ValueError, match=r'mgn_ps\.pth: holds a PS head \(key '
                                         r'ps_head\.deconv\.weight\).*--variant mgn_ps'):
        tool.convert(mgn_ps, str(tmp_path / 'x.pth'), 'mgn')
    with pytest.raises(ValueError, match=r'mgn\.pth: --variant mgn_ps needs the PS '
                                         r'head \(key ps_head\.deconv\.weight\)'):
        tool.convert(mgn, str(tmp_path / 'x.pth'), 'mgn_ps')
    with pytest.raises(ValueError, match=r'mgn\.pth: --variant pcb .*p1\.0\.0\.conv1\.weight'):
        tool.convert(mgn, str(tmp_path / 'x.pth'), 'pcb')
    nothing = _layout(tmp_path / 'other.pth', ['fc.weight'])
    with pytest.raises(KeyError, match=r'other\.pth: neither a PAL-MGN'):
        tool.convert(nothing, str(tmp_path / 'x.pth'))


def test_eanet_part_aligned_models_unknown_keys_and_unsafe_files(tool, tmp_path):
    state = OrderedDict((f'em_list.{i}.0.weight', torch.zeros(2, 2)) for i in range(9))
    torch.save(dict(state_dicts=dict(model=state)), tmp_path / 'pap.pth')
    with pytest.raises(ValueError, match='9 part embeddings'):
        tool.convert(str(tmp_path / 'pap.pth'), str(tmp_path / 'x.pth'))
    state = OrderedDict([('em_list.0.0.weight', torch.zeros(2, 2)),
                         ('cls_list.0.weight', torch.zeros(3, 2)),
                         ('pool.weights', torch.zeros(1))])
    torch.save(state, tmp_path / 'odd.pth')
    with pytest.raises(KeyError, match='pool.weights'):
        tool.convert(str(tmp_path / 'odd.pth'), str(tmp_path / 'x.pth'))
    save_py2(dict(state_dicts=dict(model=OrderedDict()), hook=_Unsafe()), tmp_path / 'bad.pth')
    with pytest.raises(RuntimeError, match=r'bad\.pth.*weights_only'):
        tool.convert(str(tmp_path / 'bad.pth'), str(tmp_path / 'x.pth'))


class _Unsafe:
    """An object whose class a checkpoint must not be allowed to name."""


# ----------------------------------------------------------- PAL-MGN
@pytest.fixture(scope='module')
def mgn_ps_file(tmp_path_factory):
    gen = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    release = ReleaseMGN(gen)
    path = str(tmp_path_factory.mktemp('mgn') / 'model_weight.pth')
    torch.save(release.state_dict(), path)  # the release saves the bare state dict
    return release, path


@pytest.mark.slow
def test_pal_mgn_ps_matches_the_release_features_and_logits(tool, mgn_ps_file, tmp_path):
    release, src = mgn_ps_file
    dst = str(tmp_path / 'mgn.pth')
    meta = tool.convert(src, dst)
    assert meta['variant'] == 'mgn_ps' and meta['release'] == 'PAL-MGN'
    assert meta['cfg_options'] == [f'model.head.num_classes={CLASSES}',
                                   'model.head.global_embedding=em_fc',
                                   'model.head.global_classifier=separate',
                                   'model.head.global_cls_dim=2048']
    assert not any('ps_head' in k for k in torch.load(dst, weights_only=True)['state_dict'])
    model = _our_model('mgn', **tool.MGN_RELEASE_OPTIONS)
    load_reid_checkpoint(model, dst)
    x = torch.randn(2, 3, 96, 32)
    with torch.no_grad():
        feat, logits = release.features(x)
        flipped, _ = release.features(x.flip(-1))
        expected = F.normalize(feat + flipped, dim=1)  # normalize(f(x) + f(flip(x)))
        ours = _predict(model, x)[:, 0]
        our_logits = model.head(model.extract_feat(x))['logits']
    assert torch.allclose(ours, expected, atol=1e-4)
    for a, b in zip(our_logits, logits):
        assert torch.allclose(a, b, atol=1e-4)


@pytest.mark.slow
def test_pal_mgn_without_ps_and_with_the_ps_head_kept(tool, mgn_ps_file, tmp_path):
    release, src = mgn_ps_file
    plain = OrderedDict((k, v) for k, v in release.state_dict().items()
                        if not k.startswith('ps_head.'))
    plain_path = str(tmp_path / 'mgn_plain.pth')
    torch.save(plain, plain_path)
    assert tool.convert(plain_path, str(tmp_path / 'y.pth'))['variant'] == 'mgn'
    load_reid_checkpoint(_our_model('mgn', **tool.MGN_RELEASE_OPTIONS), str(tmp_path / 'y.pth'))
    tool.convert(src, str(tmp_path / 'ps.pth'), 'mgn_ps', keep_ps_head=True)
    state = torch.load(str(tmp_path / 'ps.pth'), weights_only=True)['state_dict']
    head = MODELS.build(dict(type='PartSegHead', in_channels=2048, in_index=(0, 1, 2)))
    head.load_state_dict({k[len('aux_heads.ps_head.'):]: v for k, v in state.items()
                          if k.startswith('aux_heads.ps_head.')})
    head.eval()
    z = torch.randn(1, 2048, 6, 2)
    with torch.no_grad():
        ref = release.ps_head.conv(torch.relu(release.ps_head.bn(release.ps_head.deconv(z))))
        assert torch.allclose(head.part_logits(z), ref, atol=1e-5)
