"""VPM configs: the two-stage recipe, grids and crops, partial protocols, tier, metafile."""
import copy
import functools
import glob
import os.path as osp
import re

import pytest
import torch
import yaml
from mmengine.config import Config
from test_configs_build import _epoch_lrs

from mmreidparts.registry import MODELS
from mmreidparts.utils import register_all_modules, strip_pretrained

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VPM_DIR = osp.join(ROOT, 'configs', 'vpm')
CONFIGS = sorted(glob.glob(osp.join(VPM_DIR, '*.py')))
R50 = [p for p in CONFIGS if '_r50_' in osp.basename(p)]
TIER = [p for p in CONFIGS if osp.basename(p).endswith('_cpu.py')]
MAIN = osp.join(VPM_DIR, 'vpm_r50_1xb64_market1501.py')

register_all_modules()


@functools.lru_cache(maxsize=None)
def _parsed(path: str) -> Config:
    return Config.fromfile(path)


def _load(path: str) -> Config:
    """A config, parsed once per session; a copy the test may change."""
    return copy.deepcopy(_parsed(path))


def _cfg(name: str) -> Config:
    return _load(osp.join(VPM_DIR, name))


def _crop(cfg: Config) -> dict:
    steps = [t for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'VPMRandomCrop']
    assert len(steps) == 1
    return steps[0]


def test_two_stages_with_the_lr_restart():
    cfg = _load(MAIN)
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    lrs = _epoch_lrs(cfg, cfg.train_cfg.max_epochs)
    assert len(lrs) == 130
    expected = {0: 0.1, 29: 0.1, 30: 0.01, 49: 0.01, 50: 0.1, 79: 0.1, 80: 0.01, 129: 0.01}
    for epoch, lr in expected.items():
        assert lrs[epoch] == pytest.approx(lr, rel=1e-9), epoch
    # stage 1: 64 random images, no triplet; stage 2 from epoch 50: triplet, PK 8 x 8
    assert cfg.model.head.enable_triplet is False
    assert cfg.train_dataloader.sampler == dict(type='DefaultSampler', shuffle=True)
    assert cfg.train_dataloader.batch_size == 64
    (hook, ) = [h for h in cfg.custom_hooks if h['type'] == 'StageSwitchHook']
    (stage, ) = hook['stages']
    assert stage['epoch'] == 50 and stage['head'] == dict(enable_triplet=True)
    assert stage['train_dataloader']['sampler'] == dict(
        type='IdentitySampler', num_instances=8, batch_size=64)
    head = cfg.model.head
    assert head.loss_triplet.margin == 1.0 and head.grid == (6, 1)
    assert (head.embedding, head.id_regions, head.triplet_regions, head.test_visibility) == (
        'pooled', 'visible', 'shared', 'soft')


def test_main_pipeline_flips_before_the_crop_without_erasing():
    cfg = _load(MAIN)
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert types == ['LoadReIDImage', 'ReIDResize', 'ReIDRandomFlip', 'VPMRandomCrop',
                     'PackReIDInputs']
    crop = _crop(cfg)
    assert (crop['crop_mode'], crop['ratio_range'], crop['label_stride']) == (
        'top', (0.5, 1.0), 16)
    assert cfg.test_dataloader.dataset.pipeline[1]['scale'] == (384, 128)


def test_the_resnet50_map_is_24x8_at_384x128():
    cfg = _load(MAIN)
    model = MODELS.build(strip_pretrained(copy.deepcopy(cfg.model.to_dict()))).eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, 384, 128))
    assert feats[-1].shape[1:] == (2048, 24, 8)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_grid_crop_and_map_agree(path):
    cfg = _load(path)
    grid = tuple(cfg.model.head.grid)
    crop = _crop(cfg)
    assert tuple(crop['grid']) == grid
    stride = 8 if path in TIER else 16
    assert crop['label_stride'] == stride
    scale = [t['scale'] for t in cfg.train_dataloader.dataset.pipeline
             if t['type'] == 'ReIDResize'][0]
    h, w = scale[0] // stride, scale[1] // stride
    assert (h, w) == (24, 8) and h % grid[0] == 0 and w % grid[1] == 0
    assert crop['crop_mode'] == ('any' if grid[1] > 1 else crop['crop_mode'])


@pytest.mark.parametrize('name,side', [('vpm_r50_1xb64_market1501_bottom.py', 'bottom'),
                                       ('vpm_r50_1xb64_market1501_bilateral.py', 'bilateral')])
def test_crop_variants_change_only_the_crop(name, side):
    cfg, main = _cfg(name), _load(MAIN)
    assert _crop(cfg)['crop_mode'] == side
    _crop(main)['crop_mode'] = side
    for key in ('model', 'train_dataloader', 'test_dataloader', 'param_scheduler',
                'custom_hooks'):
        assert cfg[key] == main[key], key


@pytest.mark.parametrize('dataset', ['market1501', 'dukemtmcreid'])
@pytest.mark.parametrize('ratio', [0.5, 0.6, 0.7, 0.8, 0.9])
def test_table1_protocols_cut_the_queries(dataset, ratio):
    cfg = _cfg(f'vpm_r50_1xb64_{dataset}_partial{int(round(100 * ratio)):03d}.py')
    main = _cfg(f'vpm_r50_1xb64_{dataset}.py')
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert [t['type'] for t in pipeline] == ['LoadReIDImage', 'PartialQueryCrop', 'ReIDResize',
                                            'PackReIDInputs']
    assert pipeline[1] == dict(type='PartialQueryCrop', ratio=ratio, side='top')
    assert cfg.model.test_cfg == dict(visibility='soft')
    assert cfg.train_dataloader == main.train_dataloader and cfg.model.head == main.model.head


@pytest.mark.parametrize('dataset,cls', [('partial_reid', 'PartialREID'),
                                         ('partial_ilids', 'PartialiLIDS')])
@pytest.mark.parametrize('side', ['top', 'bottom', 'bilateral'])
def test_partial_test_configs(dataset, cls, side):
    suffix = '' if side == 'top' else f'_{side}'
    cfg = _cfg(f'vpm_r50_1xb64_{dataset}{suffix}.py')
    assert cfg.train_dataloader.dataset.type == 'Market1501'
    assert _crop(cfg)['crop_mode'] == side
    assert cfg.test_dataloader.dataset.type == cls
    assert cfg.test_evaluator.protocol == 'all' and cfg.test_evaluator.topk[:2] == (1, 3)
    assert cfg.model.test_cfg == dict(visibility='soft')


@pytest.mark.parametrize('name,changes', [
    ('mvpm1', dict(test_visibility='uniform')),
    ('mvpm2', dict(triplet_regions='all')),
    ('mvpm3', dict(id_regions='all')),
    ('mvpm4', dict(triplet_regions='all', id_regions='all')),
])
def test_ablations_change_one_switch(name, changes):
    cfg, main = _cfg(f'vpm_r50_1xb64_market1501_{name}.py'), _load(MAIN)
    main.model.head.update(changes)
    for key in ('model', 'train_dataloader', 'param_scheduler', 'custom_hooks'):
        assert cfg[key] == main[key], key


def test_no_triplet_keeps_the_schedule_and_sampler_switch():
    cfg, main = _cfg('vpm_r50_1xb64_market1501_notriplet.py'), _load(MAIN)
    (stage, ) = cfg.custom_hooks[0]['stages']
    assert 'head' not in stage
    assert stage['train_dataloader'] == main.custom_hooks[0]['stages'][0]['train_dataloader']
    assert cfg.model == main.model and cfg.param_scheduler == main.param_scheduler


@pytest.mark.parametrize('path', TIER, ids=osp.basename)
def test_tier_stages_split_the_tier_epochs(path):
    cfg = _load(path)
    (stage, ) = cfg.custom_hooks[0]['stages']
    assert stage == dict(epoch=cfg.train_cfg.max_epochs // 2, head=dict(enable_triplet=True))
    assert cfg.model.head.enable_triplet is False
    assert cfg.optim_wrapper.optimizer.type == 'Adam'


def test_metafile_lists_every_config_with_paper_figures():
    from mmreidparts.zoo import index_problems, load_index
    assert index_problems() == []  # the repository's index imports this metafile too
    with open(osp.join(VPM_DIR, 'metafile.yml'), encoding='utf-8') as f:
        meta = yaml.safe_load(f)
    (collection, ) = meta['Collections']
    assert collection['Name'] == 'VPM' and collection['README'] == 'configs/vpm/README.md'
    assert 'Perceive Where to Focus' in collection['Paper']['Title']
    models = meta['Models']
    assert {m['Config'] for m in models} == {osp.relpath(p, ROOT) for p in CONFIGS}
    for m in models:
        assert m['Name'] == osp.splitext(osp.basename(m['Config']))[0]
        for result in m.get('Results', []):
            # the paper's figures name their table; ours are measured by the zoo tool
            if result['Source'] == 'measured':
                assert m['Name'].endswith('_cpu')
                assert result['Command'] == f'python tools/model_zoo.py eval {m["Name"]}'
            else:
                assert result['Source'].startswith('paper (VPM, Table'), result['Source']
    index = load_index()
    main = {r.get('Queries', 'all'): r['Metrics']
            for r in index['vpm_r50_1xb64_market1501']['Results']}
    assert main['all'] == dict(rank1=93.0, rank5=97.8, rank10=98.8, mAP=80.8)
    assert main['partial top 0.5'] == dict(rank1=70.9, rank5=86.5, rank10=92.1, mAP=48.8)
    duke = {r.get('Queries', 'all'): r['Metrics']
            for r in index['vpm_r50_1xb64_dukemtmcreid']['Results']}
    assert sorted(duke) == ['all'] + [f'partial top 0.{i}' for i in range(5, 10)]
    assert duke['partial top 0.5']['rank1'] == 69.5 and duke['partial top 0.5']['mAP'] == 52.2
    mvpm1 = index['vpm_r50_1xb64_market1501_mvpm1']['Results'][0]['Metrics']
    assert mvpm1 == dict(rank1=93.0, rank5=96.3, mAP=79.7)
    for name in ('synthetic', 'cuhk03detected'):
        build = index[f'vpm_mobilenetv2os8_1xb64_{name}_cpu']['Build']
        bot = index[f'bot_mobilenetv2os8_1xb64_{name}_cpu']['Build']
        assert build == bot


def test_readme_names_every_config():
    with open(osp.join(VPM_DIR, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    for path in CONFIGS:
        assert osp.splitext(osp.basename(path))[0] in text, path
    assert not re.search(r'\bTODO\b', text)
