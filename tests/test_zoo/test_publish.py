"""Publishing: plain state dict + JSON meta, hash in the name, training-only modules dropped."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from torch import nn

from mmreidparts.apis import init_model
from mmreidparts.utils import load_reid_checkpoint, training_only_prefixes
from mmreidparts.zoo import publish_checkpoint, sha256_of

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CFG = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_bot.py')


def _model_with_aux(seed: int = 0):
    """The tiny BoT model with a training-only module on the model and one on the head."""
    torch.manual_seed(seed)
    model = init_model(TINY_CFG)
    model.aux_heads = nn.Conv2d(4, 3, 1)
    model.training_only_prefixes = ('aux_heads.', )
    model.head.seg = nn.Linear(2, 2)
    model.head.training_only_prefixes = ('seg.', )
    return model


def test_training_only_prefixes_are_collected_from_every_module():
    model = _model_with_aux()
    assert training_only_prefixes(model) == ('aux_heads.', 'head.seg.')
    assert training_only_prefixes(init_model(TINY_CFG)) == ()


def test_reid_model_takes_training_only_prefixes_from_its_config():
    model = init_model(TINY_CFG, cfg_options={'model.training_only_prefixes': ['aux.']})
    assert model.training_only_prefixes == ('aux.', )


def test_publish_drops_training_only_modules_and_hashes_the_name(tmp_path):
    model = _model_with_aux()
    src = tmp_path / 'epoch_3.pth'
    torch.save(dict(state_dict=model.state_dict(), optimizer=dict(state={}),
                    meta=dict(epoch=3, iter=30, cfg='model = dict()', seed=1, env='hidden')),
               src)
    record = publish_checkpoint(str(src), str(tmp_path / 'zoo'), 'tiny', model=model,
                                meta=dict(zoo_name='tiny'))
    digest = sha256_of(record['path'])
    assert record['sha256'] == digest and record['file'] == f'tiny-{digest[:8]}.pth'
    assert record['size'] == osp.getsize(record['path'])
    assert record['dropped'] == {'aux_heads.': 2, 'head.seg.': 2}  # weight + bias each
    out = torch.load(record['path'], weights_only=True)
    assert set(out) == {'state_dict', 'meta'}
    assert not any(k.startswith(('aux_heads.', 'head.seg.')) for k in out['state_dict'])
    assert len(out['state_dict']) == len(model.state_dict()) - 4 == record['num_tensors']
    meta = out['meta']
    assert json.loads(json.dumps(meta)) == meta
    assert (meta['epoch'], meta['iter'], meta['zoo_name']) == (3, 30, 'tiny')
    assert 'env' not in meta and meta['dropped_prefixes'] == record['dropped']
    assert not list(tmp_path.glob('zoo/.*'))  # no temporary file left

    # the published file loads into the full model: the training-only tensors are not asked for
    fresh = _model_with_aux(seed=1)
    assert not torch.equal(fresh.state_dict()['head.classifier.weight'],
                           out['state_dict']['head.classifier.weight'])
    load_reid_checkpoint(fresh, record['path'])
    for key, value in out['state_dict'].items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_publish_refuses_weights_of_another_model(tmp_path):
    src = tmp_path / 'other.pth'
    other = init_model(TINY_CFG, cfg_options={'model.head.num_classes': 5})
    torch.save(dict(state_dict=other.state_dict()), src)
    with pytest.raises(RuntimeError, match=r'(?s)does not match the model.*shape mismatches'):
        publish_checkpoint(str(src), str(tmp_path), 'tiny', model=init_model(TINY_CFG))
    assert list(tmp_path.iterdir()) == [src]


def test_publish_model_tool_reads_the_prefixes_from_the_config(tmp_path):
    cfg = tmp_path / 'aux_cfg.py'
    cfg.write_text(f"_base_ = ['{TINY_CFG}']\n"
                   "model = dict(training_only_prefixes=['head.classifier.'])\n")
    src = tmp_path / 'epoch_2.pth'
    torch.save(dict(state_dict=init_model(TINY_CFG).state_dict(), meta=dict(epoch=2)), src)
    spec = importlib.util.spec_from_file_location(
        'publish_model', osp.join(ROOT, 'tools', 'model_converters', 'publish_model.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main([str(src), str(tmp_path / 'out' / 'tiny_aux.pth'), '--config',
                      str(cfg)]) == 0
    [path] = (tmp_path / 'out').glob('tiny_aux-*.pth')
    state = torch.load(path, weights_only=True)['state_dict']
    assert 'head.classifier.weight' not in state and 'head.bnneck.weight' in state
    model = init_model(str(cfg), str(path))  # loads: the classifier is training-only
    assert torch.equal(model.state_dict()['backbone.conv1.conv.weight'],
                       state['backbone.conv1.conv.weight'])
