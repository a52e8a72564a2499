"""The part awareness learning configs: the paper's recipes, +PS as a small diff, metafile.

Every +PS config is its baseline plus the PS head (``model.aux_heads.ps_head``) and the
label loading (``part_labels``, a ``LoadPartLabel`` step); nothing else differs.
"""
import copy
import glob
import os.path as osp

import pytest
import yaml
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from test_configs_build import _epoch_lrs
from torch import nn

from mmreidparts.structures import get_part_scheme
from mmreidparts.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAL_DIR = osp.join(ROOT, 'configs', 'pal')
CONFIGS = sorted(glob.glob(osp.join(PAL_DIR, '*.py')))
PS_CONFIGS = [p for p in CONFIGS if '_ps_' in osp.basename(p)]
EANET_RELEASES = [p for p in CONFIGS if osp.basename(p).startswith('eanet_')]
DATASETS = dict(market1501=751, dukemtmcreid=702, cuhk03np_detected=767, msmt17=1041)
register_all_modules()


def _baseline_of(path: str) -> str:
    return path.replace('_ps_', '_', 1)


def _strip_ps(cfg: Config) -> dict:
    """The config as a dict without what +PS adds."""
    out = copy.deepcopy(cfg.to_dict())
    out['model'].pop('aux_heads', None)
    dataset = out['train_dataloader']['dataset']
    dataset.pop('part_labels', None)
    dataset['pipeline'] = [t for t in dataset['pipeline'] if t['type'] != 'LoadPartLabel']
    out.pop('part_labels', None)
    return out


def test_every_model_dataset_pair_has_a_baseline_and_a_ps_config():
    names = {osp.basename(p) for p in CONFIGS}
    for dataset in DATASETS:
        for model, batch in (('globalpool', 32), ('pcb', 32), ('mgn', 128)):
            assert f'{model}_r50_1xb{batch}_{dataset}.py' in names
            assert f'{model}_ps_r50_1xb{batch}_{dataset}.py' in names
    assert {'globalpool_mobilenetv2_1xb32_msmt17.py',
            'globalpool_ps_mobilenetv2_1xb32_msmt17.py'} <= names
    assert len(PS_CONFIGS) * 2 + len(EANET_RELEASES) == len(CONFIGS)


@pytest.mark.parametrize('path', PS_CONFIGS, ids=osp.basename)
def test_ps_config_is_its_baseline_plus_the_ps_head_and_labels(path):
    cfg, base = Config.fromfile(path), Config.fromfile(_baseline_of(path))
    assert _strip_ps(cfg) == _strip_ps(base)
    assert 'aux_heads' not in base.model
    ps = cfg.model.aux_heads.ps_head
    assert ps.type == 'PartSegHead' and ps.head_type == 'c'
    assert ps.loss == dict(type='PartSegLoss', class_balanced=True, loss_weight=1.0)
    assert ps.in_channels == cfg.model.head.in_channels
    scheme = cfg.train_dataloader.dataset.part_labels['scheme']
    assert scheme == 'pal7' and ps.num_classes == get_part_scheme(scheme).num_parts + 1
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert types.index('LoadPartLabel') == types.index('LoadReIDImage') + 1
    if cfg.model.head.type == 'MGNHead':
        assert tuple(ps.in_index) == (0, 1, 2)  # one head shared by the three branches


class _Named(nn.Module):
    """Parameters named like a ReIDModel's: backbone., head., aux_heads.ps_head."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(1, 1)
        self.head = nn.Linear(1, 1)
        self.aux_heads = nn.ModuleDict(dict(ps_head=nn.Linear(1, 1)))


@pytest.mark.parametrize('dataset', sorted(DATASETS))
@pytest.mark.parametrize('model', ['globalpool', 'pcb'])
def test_globalpool_and_pcb_recipe(model, dataset):
    cfg = Config.fromfile(osp.join(PAL_DIR, f'{model}_ps_r50_1xb32_{dataset}.py'))
    assert cfg.model.head.num_classes == DATASETS[dataset]
    loader = cfg.train_dataloader
    assert loader.batch_size == 32 and loader.drop_last
    assert loader.sampler == dict(type='DefaultSampler', shuffle=True)  # random batches
    size = (256, 128) if model == 'globalpool' else (384, 128)
    steps = {t['type']: t for t in loader.dataset.pipeline}
    assert steps['ReIDResize']['scale'] == size and 'ReIDRandomFlip' in steps
    assert 'RandomErasing' not in steps and 'PadRandomCrop' not in steps  # flip only
    assert cfg.test_dataloader.dataset.pipeline[1]['scale'] == size
    wrapper = build_optim_wrapper(_Named(), copy.deepcopy(cfg.optim_wrapper))
    lrs = [g['lr'] for g in wrapper.optimizer.param_groups]
    # weight and bias of: the backbone, the head, the PS head
    assert lrs == pytest.approx([0.01, 0.01, 0.02, 0.02, 0.02, 0.02])
    epochs = _epoch_lrs(cfg, 60)
    assert epochs[24] == pytest.approx(0.01) and epochs[25] == pytest.approx(0.001)
    assert epochs[50] == pytest.approx(0.0001) and cfg.train_cfg.max_epochs == 60
    assert cfg.val_evaluator.metric == 'cosine'
    if model == 'pcb':
        assert cfg.model.head.num_stripes == 6 and cfg.model.head.embed_dim == 256
    else:
        assert cfg.model.head.embed_dim == 512 and cfg.model.head.pool == 'max'


@pytest.mark.parametrize('dataset', sorted(DATASETS))
def test_mgn_recipe(dataset):
    cfg = Config.fromfile(osp.join(PAL_DIR, f'mgn_ps_r50_1xb128_{dataset}.py'))
    loader = cfg.train_dataloader
    assert loader.batch_size == 128
    assert loader.sampler == dict(type='IdentitySampler', num_instances=8, batch_size=128)
    steps = {t['type']: t for t in loader.dataset.pipeline}
    assert steps['ReIDResize']['scale'] == (384, 128)
    assert steps['RandomErasing']['prob'] == 0.5 and steps['RandomErasing']['seg_fill'] is None
    backbone = cfg.model.backbone
    assert backbone.type == 'MultiBranchBackbone' and tuple(backbone.split) == ('layer3', 1)
    assert backbone.backbone.last_stride == 1  # stride-1 conv5 in every branch
    assert cfg.model.head.loss_triplet.margin == 0.1
    assert cfg.model.test_cfg == dict(flip=True, flip_merge='sum')
    phases = cfg.model.loss_phases
    assert [p['lr_mult'] for p in phases] == [1.0, 0.1]  # 0.1 for CE steps, 0.01 for triplet
    assert all('loss_ps' in p['losses'] for p in phases)
    assert {h['type'] for h in cfg.custom_hooks} == {'LossPhaseLRHook'}
    epochs = _epoch_lrs(cfg, 200)
    assert epochs[0] == pytest.approx(0.001) and epochs[20] == pytest.approx(0.1)
    assert epochs[139] == pytest.approx(0.1) and epochs[140] == pytest.approx(0.01)
    assert epochs[180] == pytest.approx(0.001) and cfg.train_cfg.max_epochs == 200


def test_msmt17_mobilenetv2_globalpool():
    cfg = Config.fromfile(osp.join(PAL_DIR, 'globalpool_ps_mobilenetv2_1xb32_msmt17.py'))
    assert cfg.model.backbone.type == 'MobileNetV2ReID' and cfg.model.backbone.last_stride == 1
    assert cfg.model.head.in_channels == cfg.model.aux_heads.ps_head.in_channels == 1280
    assert cfg.train_dataloader.dataset.combine_train_val  # 32,621 training images


def test_metafile_lists_every_pal_config_with_the_papers_figures():
    with open(osp.join(PAL_DIR, 'metafile.yml'), encoding='utf-8') as f:
        meta = yaml.safe_load(f)
    assert [c['Name'] for c in meta['Collections']] == ['PAL']
    models = meta['Models']
    assert {m['Config'] for m in models} == {osp.relpath(p, ROOT) for p in CONFIGS}
    assert len({m['Name'] for m in models}) == len(models)
    for m in models:
        assert m['Name'] == osp.splitext(osp.basename(m['Config']))[0]
        assert m['In Collection'] == 'PAL'
        for result in m.get('Results', []):
            # the paper's figures say so; the tier's are measured by the zoo tool
            if result['Source'] == 'measured':
                assert m['Name'].endswith('_cpu'), m['Name']
                assert result['Command'] == f'python tools/model_zoo.py eval {m["Name"]}'
            else:
                assert result['Source'].startswith('paper'), m['Name']
            assert {'rank1', 'mAP'} <= set(result['Metrics'])
    by_name = {m['Name']: m for m in models}
    mgn_ps = by_name['mgn_ps_r50_1xb128_msmt17']['Results'][0]['Metrics']
    assert mgn_ps['rank1'] == 84.0 and mgn_ps['mAP'] == 62.4
    pcb = by_name['pcb_r50_1xb32_msmt17']['Results'][0]['Metrics']
    assert pcb == dict(rank1=74.0, rank5=84.9, rank10=88.2, mAP=47.4)
    tier = {r.get('Queries', 'all'): r['Metrics'] for r in
            by_name['globalpool_ps_mobilenetv2os8_1xb64_cuhk03detected_cpu']['Results']}
    assert set(tier) == {'all', 'partial top 0.7', 'partial top 0.5'}
    assert by_name['globalpool_ps_mobilenetv2os8_1xb64_cuhk03detected_cpu']['Build']
    gp = by_name['globalpool_ps_r50_1xb32_cuhk03np_detected']
    assert 'Results' not in gp  # the paper gives only the gain (Fig. 6)
    assert gp['Metadata']['Gain from PS (paper, Fig. 6)'] == dict(rank1=5.8, mAP=4.5)


def _converter():
    import importlib.util
    path = osp.join(ROOT, 'tools', 'model_converters', 'pal_to_mmreidparts.py')
    spec = importlib.util.spec_from_file_location('pal_to_mmreidparts', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_release_entries_convert_with_the_matching_variant_and_layout():
    converter = _converter()
    with open(osp.join(PAL_DIR, 'metafile.yml'), encoding='utf-8') as f:
        models = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    releases = {n: m for n, m in models.items() if n.endswith('_release')}
    assert len(releases) == 8
    for name, entry in releases.items():
        source = entry['Converted From']
        variant = source['Converter'].split('--variant ')[1]
        assert source['Converter'].startswith(
            'python tools/model_converters/pal_to_mmreidparts.py {src} {dst}')
        cfg = Config.fromfile(osp.join(ROOT, entry['Config']))
        head = cfg.model.head
        if name.startswith('pal_mgn'):
            assert variant == ('mgn_ps' if '_ps_' in name else 'mgn')
            assert source['File'] == 'model_weight.pth'
            assert {k: head[k] for k in converter.MGN_RELEASE_OPTIONS} == \
                converter.MGN_RELEASE_OPTIONS
        else:
            family = name.split('_')[1]
            assert variant == family and head.type == dict(globalpool='GlobalPoolHead',
                                                           pcb='PCBHead')[family]
            # EANet's input normalisation, mean (0.486, 0.459, 0.408) x 255
            assert cfg.model.data_preprocessor.mean == pytest.approx([123.93, 117.045, 104.04])
