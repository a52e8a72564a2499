"""tools/model_converters/publish_model.py drops the training-only heads by default."""
import importlib.util
import os.path as osp

import pytest
import torch
from _tool_utils import ROOT

TOOL = osp.join(ROOT, 'tools', 'model_converters', 'publish_model.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('publish_model', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _publish(tool, tmp_path, capsys, *extra):
    raw = tmp_path / 'raw.pth'
    state = {'backbone.w': torch.ones(2), 'head.fc.weight': torch.ones(3, 2),
             'aux_heads.ps_head.classifier.weight': torch.ones(8, 2, 1, 1)}
    torch.save(dict(state_dict=state, meta=dict(epoch=3)), raw)
    tool.main([str(raw), str(tmp_path / 'out.pth'), *extra])
    out = capsys.readouterr().out
    path = out.split('-> ')[1].split(' ')[0].split('\n')[0].strip()
    return out, torch.load(path, weights_only=True)


def test_published_checkpoint_has_no_aux_head_keys(tool, tmp_path, capsys):
    out, ckpt = _publish(tool, tmp_path, capsys)
    assert set(ckpt['state_dict']) == {'backbone.w', 'head.fc.weight'}
    assert '(dropped 1 under aux_heads.)' in out
    assert ckpt['meta']['epoch'] == 3
    _, kept = _publish(tool, tmp_path, capsys, '--keep-aux-heads')
    assert 'aux_heads.ps_head.classifier.weight' in kept['state_dict']
    _, dropped = _publish(tool, tmp_path, capsys, '--drop-prefix', 'head.')
    assert set(dropped['state_dict']) == {'backbone.w'}
