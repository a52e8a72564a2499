"""The model zoo API: listing, building, verified weights, embeddings of images."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmreidparts.apis import (
    fetch_weights,
    get_model,
    inference_model,
    init_model,
    list_models,
    sha256_of,
)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CFG = osp.join(ROOT, 'tests', 'data', 'configs', 'tiny_bot.py')


@pytest.fixture(scope='module')
def tiny_checkpoint(tmp_path_factory) -> str:
    """A published (plain state_dict) checkpoint of the tiny BoT model, random weights."""
    tmp = tmp_path_factory.mktemp('zoo')
    torch.manual_seed(0)
    model = init_model(TINY_CFG)
    raw = tmp / 'raw.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=2)), raw)
    proc = subprocess.run([sys.executable, 'tools/model_converters/publish_model.py', str(raw),
                           str(tmp / 'tiny_bot.pth')], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    path = proc.stdout.split('-> ')[1].split('\n')[0].strip()
    digest = proc.stdout.split('Sha256: ')[1].strip()
    assert osp.basename(path) == f'tiny_bot-{digest[:8]}.pth'
    assert sha256_of(path) == digest
    return path


def _zoo(tmp_path, weights: str, sha: str) -> str:
    """A config root with one metafile listing the tiny model."""
    root = tmp_path / 'configs'
    (root / 'tiny').mkdir(parents=True)
    (root / 'tiny' / 'metafile.yml').write_text(
        'Models:\n  - Name: tiny_bot\n'
        f'    Config: {TINY_CFG}\n    Weights: {weights}\n    Sha256: {sha}\n')
    return str(root)


def test_repository_zoo_lists_the_baselines():
    names = list_models()
    assert 'bot_r50_1xb64_market1501' in names
    assert list_models('bot_r50_*') == sorted(n for n in names if n.startswith('bot_r50_'))


def test_unknown_model_name():
    with pytest.raises(KeyError, match='no_such_model'):
        get_model('no_such_model')


def test_get_model_verifies_and_loads_the_weights(tmp_path, tiny_checkpoint):
    root = _zoo(tmp_path, tiny_checkpoint, sha256_of(tiny_checkpoint))
    model = get_model('tiny_bot', pretrained=True, config_root=root)
    ref = torch.load(tiny_checkpoint, weights_only=True)['state_dict']
    for k, v in model.state_dict().items():
        assert torch.equal(v, ref[k]), k


def test_a_corrupted_download_is_refused(tmp_path, tiny_checkpoint):
    bad = tmp_path / 'bad.pth'
    data = bytearray(open(tiny_checkpoint, 'rb').read())
    data[-10] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match='does not match'):
        fetch_weights(str(bad), sha256_of(tiny_checkpoint))
    # a URL download goes through the cache and is checked the same way
    cached = fetch_weights(f'file://{tiny_checkpoint}', sha256_of(tiny_checkpoint),
                           cache_dir=str(tmp_path / 'cache'))
    assert sha256_of(cached) == sha256_of(tiny_checkpoint)


def test_inference_from_paths_and_arrays_agree(tmp_path, tiny_checkpoint):
    import cv2
    model = init_model(TINY_CFG, tiny_checkpoint)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (80, 40, 3), dtype=np.uint8)
    path = str(tmp_path / 'person.png')
    cv2.imwrite(path, img)
    from_path = inference_model(model, [path])[0]
    from_array = inference_model(model, [img])[0]
    assert from_path.embeddings.shape == (1, model.head.in_channels)
    assert from_path.metainfo['embedding_names'] == ('global', )
    assert torch.allclose(from_path.embeddings, from_array.embeddings, atol=1e-6)
    assert torch.equal(from_path.visibility, torch.ones(1))


def test_checkpoint_of_another_model_is_refused(tiny_checkpoint):
    with pytest.raises(RuntimeError, match='does not match the model'):
        init_model(TINY_CFG, tiny_checkpoint, cfg_options={'model.head.num_classes': 5})


def test_a_checkpoint_makes_pretrained_files_unnecessary(tiny_checkpoint):
    # the config names ImageNet weights that are not on this machine: with a checkpoint
    # given, they are neither read nor needed
    options = {'model.backbone.pretrained': '/no/such/imagenet_weights.pt'}
    model = init_model(TINY_CFG, tiny_checkpoint, cfg_options=options)
    ref = torch.load(tiny_checkpoint, weights_only=True)['state_dict']
    assert torch.equal(model.state_dict()['head.classifier.weight'],
                       ref['head.classifier.weight'])
    with pytest.raises(Exception, match='no/such/imagenet_weights'):
        init_model(TINY_CFG, None, cfg_options=options)


def test_strip_pretrained_is_recursive_and_leaves_the_input():
    from mmreidparts.utils import strip_pretrained
    cfg = dict(backbone=dict(type='X', pretrained='a.pth', init_cfg=dict(type='Pretrained')),
               heads=[dict(type='H', init_cfg=dict(type='Normal'))], depth=50)
    out = strip_pretrained(cfg)
    assert out == dict(backbone=dict(type='X', pretrained=None, init_cfg=None),
                       heads=[dict(type='H', init_cfg=None)], depth=50)
    assert cfg['backbone']['pretrained'] == 'a.pth'
