"""tools/model_zoo.py end to end: build, get_model, tools/test.py, eval, compare, convert.

The built entry lives in a temporary repository (model-index.yml + configs/tiny/metafile.yml)
and a temporary zoo directory; its config is the tiny BoT of tests/data with the classifier
marked as training-only, so publishing must drop it and loading must not ask for it. The
converted entry is the BPBreID Market-1501 release, built at the release's key names and
shapes (HRNet-W32).
"""
import copy
import importlib.util
import json
import os
import os.path as osp

import pytest
import torch
import yaml
from _tool_utils import ROOT, TINY_CFG, cli_threads, data_root_options, run_tool
from mmengine.config import Config
from test_bpbreid_converter import fake_yacs, masks_config, release_state  # noqa: F401

from mmreidparts.apis import get_model
from mmreidparts.registry import MODELS
from mmreidparts.utils import register_all_modules, strip_pretrained
from mmreidparts.zoo import index_problems, load_index, sha256_of

pytestmark = pytest.mark.slow
NAME = 'tiny_bot'


def _load_tool():
    spec = importlib.util.spec_from_file_location('model_zoo_tool',
                                                  osp.join(ROOT, 'tools', 'model_zoo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny_repo(tmp_path, data_root: str) -> str:
    """A repository whose index lists one buildable tier entry; returns its model-index.yml."""
    folder = tmp_path / 'repo' / 'configs' / 'tiny'
    folder.mkdir(parents=True)
    os.symlink(osp.join(ROOT, 'tools'), tmp_path / 'repo' / 'tools')
    (folder / 'README.md').write_text('# tiny\n')
    (folder / 'tiny_mobilenetv2os8_1xb16_synthetic_cpu.py').write_text(
        f"_base_ = ['{TINY_CFG}']\nmodel = dict(training_only_prefixes=['head.classifier.'])\n")
    roots = {f'{k}.dataset.data_root': data_root
             for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    meta = dict(
        Collections=[dict(Name='Tiny', Metadata=dict(Architecture=['MobileNetV2']),
                          Paper=dict(Title='none', URL='https://example.org/paper'),
                          Code=dict(URL='https://example.org/code'),
                          README='configs/tiny/README.md')],
        Models=[{'Name': NAME, 'In Collection': 'Tiny',
                 'Config': 'configs/tiny/tiny_mobilenetv2os8_1xb16_synthetic_cpu.py',
                 'Metadata': {'Training Data': 'tiny synthetic set'},
                 'Build': {'Train Cfg Options': roots,
                           'Test Cfg Options': {'test_dataloader.dataset.data_root': data_root},
                           'Dataset': 'Tiny synthetic',
                           'Evaluate': ['all', 'occluded', 'partial top 0.5']}}])
    (folder / 'metafile.yml').write_text(yaml.safe_dump(meta, sort_keys=False))
    (tmp_path / 'repo' / 'model-index.yml').write_text('Import: [configs/tiny/metafile.yml]\n')
    return str(tmp_path / 'repo' / 'model-index.yml')


def test_build_then_get_model_and_test_reproduce_the_metafile(tiny_synthetic, tmp_path,
                                                               capsys, monkeypatch):
    # the build's runs take the thread count of run_tool's: with another one, sums come in
    # another order and the tiny model's nearly tied distances can swap
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    tool = _load_tool()
    index = _tiny_repo(tmp_path, tiny_synthetic)
    zoo, work = str(tmp_path / 'zoo'), str(tmp_path / 'work')
    common = ['--index', index, '--zoo-dir', zoo]
    assert tool.main(['list'] + common) == 0
    assert 'build-only' in capsys.readouterr().out

    with cli_threads():  # its in-process figures are compared with tools/test.py's
        assert tool.main(['build', NAME, '--work-root', work] + common) == 0
    entry = load_index(index)[NAME]
    assert index_problems(index) == []  # the recorded entry is well-formed
    path = osp.join(zoo, entry['Weights'])
    assert sha256_of(path) == entry['Sha256'] and osp.getsize(path) == entry['Size']
    assert entry['Weights'] == f'{NAME}-{entry["Sha256"][:8]}.pth'
    assert entry['Metadata']['Training Time (s)'] > 0
    assert entry['Metadata']['Training Speed (img/s)'] > 0
    results = {r.get('Queries', 'all'): r for r in entry['Results']}
    assert list(results) == ['all', 'occluded', 'partial top 0.5']
    for r in results.values():
        assert r['Source'] == 'measured'
        assert r['Command'] == f'python tools/model_zoo.py eval {NAME}'
    record = json.load(open(osp.join(zoo, 'builds', f'{NAME}.json'), encoding='utf-8'))
    assert record['sha256'] == entry['Sha256'] and 'tools/train.py' in record['train_command']

    published = torch.load(path, weights_only=True)
    assert set(published) == {'state_dict', 'meta'}
    assert not any(k.startswith('head.classifier.') for k in published['state_dict'])
    assert published['meta']['dropped_prefixes'] == {'head.classifier.': 1}
    assert published['meta']['zoo_build']['train_command'] == record['train_command']

    model = get_model(NAME, pretrained=True, config_root=index, zoo=zoo)
    for key, value in published['state_dict'].items():
        assert torch.equal(model.state_dict()[key], value), key

    out = str(tmp_path / 'metrics.json')
    run_tool(['tools/test.py', entry['Config'], path, '--work-dir', str(tmp_path / 'test'),
              '--out', out, '--cfg-options'] + data_root_options(tiny_synthetic))
    tested = json.load(open(out, encoding='utf-8'))
    assert round(tested['reid/rank1'], 2) == results['all']['Metrics']['rank1']
    assert round(tested['reid/mAP'], 2) == results['all']['Metrics']['mAP']

    with cli_threads():
        assert tool.main(['eval', NAME, '--check', '--work-root', work] + common) == 0
    # a figure that the weights do not give is caught
    metafile = osp.join(osp.dirname(index), 'configs', 'tiny', 'metafile.yml')
    text = open(metafile, encoding='utf-8').read()
    wrong = text.replace(f"mAP: {results['occluded']['Metrics']['mAP']}", 'mAP: 99.0', 1)
    assert wrong != text
    open(metafile, 'w', encoding='utf-8').write(wrong)
    with cli_threads():
        assert tool.main(['eval', NAME, '--check', '--work-root', work] + common) == 1
    open(metafile, 'w', encoding='utf-8').write(text)

    out_dir = str(tmp_path / 'compare')
    with cli_threads():
        assert tool.main(['compare', '--out-dir', out_dir, '--ratios', '1.0', '0.5'] +
                         common) == 0
    table = open(osp.join(out_dir, 'comparison.md'), encoding='utf-8').read()
    assert '| model | method | all R-1 / mAP | occluded R-1 / mAP | partial top 0.5 R-1 / mAP' \
        in table
    all_fig = results['all']['Metrics']
    assert f'| {NAME} | Tiny | {all_fig["rank1"]:.1f} / {all_fig["mAP"]:.1f} |' in table
    assert osp.getsize(osp.join(out_dir, 'partial_curve.png')) > 1000
    figures = json.load(open(osp.join(out_dir, 'comparison.json'), encoding='utf-8'))
    assert set(figures[NAME]['figures']) == {'all', 'occluded', 'partial top 0.5'}

    capsys.readouterr()
    assert tool.main(['list'] + common) == 0
    assert 'present' in capsys.readouterr().out  # the file is in this zoo directory
    assert tool.main(['list', '--markdown'] + common) == 0
    listing = capsys.readouterr().out
    assert f'| {NAME} | Tiny | Tiny synthetic |' in listing and '| published |' in listing


# the release's HRNet-W32 classification layers and head branches the converter drops, with
# the release's shapes (C = 1920, D = 512)
def _dropped_release_tensors(num_parts: int, num_ids: int) -> dict:
    bb = 'module.backbone_appearance_feature_extractor.'
    out = {bb + 'downsamp_modules.0.0.weight': torch.empty(256, 128, 3, 3),
           bb + 'downsamp_modules.1.0.weight': torch.empty(512, 256, 3, 3),
           bb + 'downsamp_modules.2.0.weight': torch.empty(1024, 512, 3, 3),
           bb + 'final_layer.0.weight': torch.empty(2048, 1024, 1, 1),
           bb + 'classifier.weight': torch.empty(1000, 2048),
           bb + 'classifier.bias': torch.empty(1000),
           'module.background_after_pooling_dim_reduce.layers.0.weight': torch.empty(512, 1920),
           'module.background_identity_classifier.bn.weight': torch.empty(512),
           'module.background_identity_classifier.classifier.weight': torch.empty(num_ids, 512)}
    for k in range(num_parts):
        out[f'module.parts_identity_classifier.{k}.bn.weight'] = torch.empty(512)
        out[f'module.parts_identity_classifier.{k}.classifier.weight'] = torch.empty(num_ids, 512)
    return out


def test_a_full_size_bpbreid_release_becomes_its_zoo_entry(tmp_path, fake_yacs):  # noqa: F811
    """HRNet-W32 at the release's shapes -> tools/model_zoo.py convert -> get_model."""
    register_all_modules()
    name = 'bpbreid_hrnet32_1xb64_market1501_release'
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'bpbreid', f'{name}.py'))
    torch.manual_seed(0)
    model = MODELS.build(strip_pretrained(copy.deepcopy(cfg.model.to_dict())))
    release = release_state(model)
    release.update(_dropped_release_tensors(5, 751))
    src = tmp_path / 'bpbreid_market1501_hrnet32_10642.pth'
    torch.save(dict(state_dict=release, config=masks_config(fake_yacs, 5, 'five_v'), epoch=120,
                    rank1=0.957, mAP=0.894), src)
    del model

    zoo_tool = _load_tool()
    zoo = str(tmp_path / 'zoo')
    assert zoo_tool.main(['convert', name, str(src), '--zoo-dir', zoo, '--no-metafile']) == 0

    loaded = get_model(name, pretrained=True, zoo=zoo)  # strict: every tensor checked
    state = loaded.state_dict()
    assert torch.equal(state['head.pixel_classifier.conv.weight'],
                       release['module.pixel_classifier.classifier.weight'])
    assert torch.equal(state['backbone.increase_layers.3.0.conv1.weight'],
                       release['module.backbone_appearance_feature_extractor.incre_modules.3.0.'
                               'conv1.weight'])
    assert loaded.head.part_scheme == 'bpbreid5v' and loaded.head.fg_pooling == 'masked_gap'
    with torch.no_grad():
        [sample] = loaded.predict(torch.rand(1, 3, 64, 32))
    assert sample.embeddings.shape == (6, 512)
    assert sample.embedding_names[0] == 'foreground'
