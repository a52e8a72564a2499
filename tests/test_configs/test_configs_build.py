"""Every config of configs/ loads and builds a consistent model.

For each config (``configs/**/*.py`` without ``_base_``): the file loads, the model builds
(pretrained weights switched off, nothing downloaded), the backbone's output channels match
the head's ``in_channels`` (one forward of a tiny 64x32 image), the head's ``num_classes``
equals the training identities of the dataset class (when it declares them) and, for
part-based heads, ``num_parts`` equals the K of the training labels' part scheme. The
BPBreID configs are also checked against the recipe (learning-rate schedule, protocol,
augmentation) and against their metafile.
"""
import copy
import glob
import math
import os.path as osp
from typing import Any, Dict, List, Optional

import pytest
import torch
import yaml
from mmengine.config import Config

from mmreidparts.registry import DATASETS, MODELS
from mmreidparts.structures import get_part_scheme
from mmreidparts.utils import register_all_modules, strip_pretrained
from mmreidparts.zoo import load_index

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs')
# every config of configs/ and every config the model index lists (a listed config that does
# not build fails here)
CONFIGS = sorted({
    p for p in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True)
    if '_base_' not in osp.relpath(p, CONFIG_DIR).split(osp.sep)} | {
    osp.abspath(e['Config']) for e in load_index().values()})
BPBREID_DIR = osp.join(CONFIG_DIR, 'bpbreid')
BPBREID_CONFIGS = [p for p in CONFIGS if osp.dirname(p) == BPBREID_DIR]
PART_HEADS = ('BPBreIDHead', 'DROPHead')

register_all_modules()


def _rel(path: str) -> str:
    return osp.relpath(path, CONFIG_DIR)



def training_part_scheme(cfg: Config) -> Optional[str]:
    """The part scheme of the training labels: from a PifPaf loader or ``part_labels``."""
    dataset = cfg.train_dataloader.dataset
    for transform in dataset.get('pipeline', []):
        if transform['type'].split('.')[-1] == 'LoadPifPafLabel':
            return transform.get('scheme', 'bpbreid8')
    part_labels = dataset.get('part_labels')
    return part_labels['scheme'] if part_labels else None


def expected_train_ids(cfg: Config) -> Optional[int]:
    """Training identities declared by the dataset class (None when it declares none)."""
    dataset_cls = DATASETS.get(cfg.train_dataloader.dataset.type)
    counts = getattr(dataset_cls, 'EXPECTED_COUNTS', None)
    if not counts or 'train' not in counts:
        return None
    return counts['train'][1]


@pytest.mark.parametrize('path', CONFIGS, ids=_rel)
def test_config_builds_a_consistent_model(path):
    cfg = Config.fromfile(path)
    assert cfg.get('default_scope') == 'mmreidparts'
    model = MODELS.build(strip_pretrained(copy.deepcopy(cfg.model.to_dict())))
    head = model.head
    assert head.num_classes == cfg.model.head.num_classes

    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, 64, 32))
    if isinstance(head.in_channels, (tuple, list)):  # a multi-scale head (DROP)
        got = tuple(feats[i].shape[1] for i in head.in_indices)
        assert got == tuple(head.in_channels), (
            f'{_rel(path)}: the backbone gives stages of {got} channels, the head expects '
            f'{tuple(head.in_channels)}')
    else:
        in_index = getattr(head, 'in_index', -1)
        assert feats[in_index].shape[1] == head.in_channels, (
            f'{_rel(path)}: the backbone gives {feats[in_index].shape[1]} channels, the head '
            f'expects {head.in_channels}')

    train_ids = expected_train_ids(cfg)
    if train_ids is not None:
        assert head.num_classes == train_ids, (
            f'{_rel(path)}: head.num_classes={head.num_classes} but '
            f'{cfg.train_dataloader.dataset.type} has {train_ids} training identities')

    if cfg.model.head.type.split('.')[-1] in PART_HEADS:
        scheme = training_part_scheme(cfg)
        assert scheme is not None, f'{_rel(path)}: a part-based head without part labels'
        assert head.num_parts == get_part_scheme(scheme).num_parts
        assert head.part_scheme == scheme


def test_every_config_directory_is_collected():
    names = {_rel(p) for p in CONFIGS}
    assert 'bpbreid/bpbreid_r50_1xb64_occluded_duke.py' in names
    assert 'baseline/bot_mobilenetv2_1xb64_synthetic.py' in names
    assert not any(n.startswith('_base_') for n in names)


# ------------------------------------------------------------------ BPBreID recipe
GRID = [(bb, ds) for bb in ('r50', 'r50ibn', 'hrnet32')
        for ds in ('market1501', 'dukemtmcreid', 'occluded_duke', 'occluded_reid', 'p_dukemtmc')]
DATASET_K = dict(market1501=5, dukemtmcreid=5, occluded_duke=8, occluded_reid=8, p_dukemtmc=8)
ABLATION_K = (1, 2, 3, 4, 5, 6, 8, 11)


def _epoch_lrs(cfg: Config, epochs: int) -> List[float]:
    """Learning rate of each epoch under the config's optimizer and schedulers."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import PARAM_SCHEDULERS
    wrapper = build_optim_wrapper(torch.nn.Linear(1, 1), copy.deepcopy(cfg.optim_wrapper))
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper))
                  for s in copy.deepcopy(cfg.param_scheduler)]
    lrs = []
    for _ in range(epochs):
        lrs.append(wrapper.optimizer.param_groups[0]['lr'])
        wrapper.optimizer.step()
        for s in schedulers:
            s.step()
    return lrs


def test_grid_and_ablation_configs_exist():
    names = {osp.basename(p) for p in BPBREID_CONFIGS}
    for bb, ds in GRID:
        assert f'bpbreid_{bb}_1xb64_{ds}.py' in names
    for k in ABLATION_K:
        assert f'bpbreid_r50_1xb64_occluded_duke_k{k}.py' in names


@pytest.mark.parametrize('backbone,dataset', GRID)
def test_grid_config_follows_the_paper(backbone, dataset):
    cfg = Config.fromfile(osp.join(BPBREID_DIR, f'bpbreid_{backbone}_1xb64_{dataset}.py'))
    k = DATASET_K[dataset]
    assert (cfg.model.head.num_parts, cfg.model.head.part_scheme) == (k, f'bpbreid{k}')
    size = (256, 128) if backbone == 'r50' else (384, 128)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        scales = [t['scale'] for t in cfg[loader].dataset.pipeline if t['type'] == 'ReIDResize']
        assert scales == [size], loader
    train = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert train == ['LoadReIDImage', 'LoadPartLabel', 'ReIDResize', 'PadRandomCrop',
                     'RandomErasing', 'PackReIDInputs']  # no flip by default
    assert cfg.train_dataloader.dataset.pipeline[3]['padding'] == 10
    assert cfg.train_dataloader.batch_size == 64
    assert cfg.train_dataloader.sampler.num_instances == 4  # 16 ids x 4 images
    protocol = 'all' if dataset in ('occluded_reid', 'p_dukemtmc') else 'market'
    assert cfg.test_evaluator.protocol == protocol
    assert cfg.test_evaluator.metric == 'euclidean'
    # each embedding is L2-normalised by the head; the metric must not renormalise
    assert cfg.model.head.test_normalize and not cfg.test_evaluator.get('normalize', False)
    if dataset == 'occluded_reid':
        assert cfg.train_dataloader.dataset.type == 'Market1501'
        assert cfg.test_dataloader.dataset.type == 'OccludedREID'
        assert cfg.test_dataloader.dataset.split == 'all'
    head = cfg.model.head
    assert head.pa_loss.loss_weight == 0.35 and head.pa_loss.label_smoothing == 0.1
    assert head.gilt_weights is None and head.dim_reduce == 512


@pytest.mark.parametrize('k', ABLATION_K)
def test_ablation_config_changes_only_k(k):
    main = Config.fromfile(osp.join(BPBREID_DIR, 'bpbreid_r50_1xb64_occluded_duke.py'))
    cfg = Config.fromfile(osp.join(BPBREID_DIR, f'bpbreid_r50_1xb64_occluded_duke_k{k}.py'))
    assert cfg.model.head.num_parts == k
    assert cfg.train_dataloader.dataset.part_labels.scheme == f'bpbreid{k}'
    main.model.head.update(num_parts=k, part_scheme=f'bpbreid{k}')
    main.train_dataloader.dataset.part_labels.scheme = f'bpbreid{k}'
    for key in ('model', 'train_dataloader', 'test_dataloader', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'test_evaluator'):
        assert cfg[key] == main[key], key


def test_bpbreid_schedule_matches_the_paper():
    cfg = Config.fromfile(osp.join(BPBREID_DIR, 'bpbreid_r50_1xb64_occluded_duke.py'))
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    assert cfg.train_cfg.max_epochs == 120
    lrs = _epoch_lrs(cfg, 120)
    expected = {0: 3.5e-5, 5: 3.5e-4 * 0.55, 10: 3.5e-4, 39: 3.5e-4, 40: 3.5e-5, 69: 3.5e-5,
                70: 3.5e-6, 119: 3.5e-6}
    for epoch, lr in expected.items():
        assert lrs[epoch] == pytest.approx(lr, rel=1e-6), epoch
    assert all(a <= b for a, b in zip(lrs[:11], lrs[1:11]))  # monotone warm-up


@pytest.mark.parametrize('bp_name,bot_name', [
    ('bpbreid_mobilenetv2_1xb64_synthetic.py', 'bot_mobilenetv2_os8_1xb64_synthetic_128x64.py'),
    ('bpbreid_mobilenetv2_1xb64_cuhk03detected_cpu.py',
     'bot_mobilenetv2_1xb64_cuhk03detected_cpu.py'),
])
def test_bpbreid_study_configs_differ_from_their_bot_baseline_only_by_the_head(
        bp_name, bot_name):
    bp = Config.fromfile(osp.join(BPBREID_DIR, bp_name))
    bot = Config.fromfile(osp.join(CONFIG_DIR, 'baseline', bot_name))
    epochs = bot.train_cfg.max_epochs
    assert _epoch_lrs(bp, epochs) == pytest.approx(_epoch_lrs(bot, epochs))
    assert bp.train_cfg == bot.train_cfg
    assert bp.optim_wrapper == bot.optim_wrapper
    assert bp.model.backbone == bot.model.backbone
    assert bp.model.data_preprocessor == bot.model.data_preprocessor
    assert bp.model.head.num_classes == bot.model.head.num_classes
    for key in ('batch_size', 'sampler', 'num_workers'):
        assert bp.train_dataloader[key] == bot.train_dataloader[key], key
    assert bp.test_evaluator == bot.test_evaluator
    assert bp.test_dataloader.dataset.type == bot.test_dataloader.dataset.type
    assert bp.test_dataloader.dataset.pipeline == bot.test_dataloader.dataset.pipeline
    assert bp.train_dataloader.dataset.part_labels.scheme == bp.model.head.part_scheme
    # the same augmentation: only the part labels are loaded on top
    bp_pipeline = [t for t in bp.train_dataloader.dataset.pipeline
                   if t['type'] != 'LoadPartLabel']
    assert bp_pipeline == bot.train_dataloader.dataset.pipeline



@pytest.fixture(scope='module')
def tiny_synthetic(tmp_path_factory) -> str:
    """A synthetic set of 4 train and 4 test identities with bpbreid8 labels."""
    from mmreidparts.synthetic import generate_synthetic_dataset
    root = str(tmp_path_factory.mktemp('synthetic'))
    generate_synthetic_dataset(root, num_train_ids=4, num_test_ids=4, images_per_id=(4, 4),
                               img_size=(64, 32), schemes=('bpbreid8', ), seed=0)
    return root


def test_synthetic_bpbreid_pipeline_gives_part_maps_and_a_loss(tiny_synthetic):
    cfg = Config.fromfile(osp.join(BPBREID_DIR, 'bpbreid_mobilenetv2_1xb64_synthetic.py'))
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.data_root = tiny_synthetic
    dataset = DATASETS.build(ds_cfg)
    samples = [dataset[i] for i in range(len(dataset))]
    ids = torch.cat([s['data_samples'].gt_part_map.data.flatten() for s in samples]).unique()
    assert 0 in ids.tolist() and int(ids.max()) <= 8
    assert len(ids) >= 6  # most of the eight parts appear in the training images
    assert samples[0]['inputs'].shape == (3, 128, 64)
    cfg.model.head.num_classes = 4
    torch.manual_seed(0)
    model = MODELS.build(cfg.model.to_dict())
    data = model.data_preprocessor(
        dict(inputs=[s['inputs'] for s in samples[:8]],
             data_samples=[s['data_samples'] for s in samples[:8]]), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_pa', 'loss_id_global', 'loss_id_foreground', 'loss_id_concat',
                           'loss_tri_parts'}
    # untrained: uniform part maps, so L_pa is log(K + 1) (label smoothing keeps it there)
    assert float(losses['loss_pa'].detach()) == pytest.approx(0.35 * math.log(9.0), rel=0.05)
    assert all(torch.isfinite(v) for v in losses.values())


# ------------------------------------------------------------------ metafile
def _metafile() -> Dict[str, Any]:
    with open(osp.join(BPBREID_DIR, 'metafile.yml'), encoding='utf-8') as f:
        return yaml.safe_load(f)


def test_metafile_lists_every_bpbreid_config_with_results():
    meta = _metafile()
    assert [c['Name'] for c in meta['Collections']] == ['BPBreID']
    models = meta['Models']
    listed = {m['Config'] for m in models}
    assert listed == {osp.relpath(p, ROOT) for p in BPBREID_CONFIGS}
    assert len({m['Name'] for m in models}) == len(models)
    for m in models:
        assert m['In Collection'] == 'BPBreID'
        assert osp.isfile(osp.join(ROOT, m['Config']))
        for result in m.get('Results', []):
            assert result['Task'] == 'Person Re-identification'
            assert set(result['Metrics']) == {'rank1', 'mAP'}
            if result['Source'].startswith('paper'):
                assert 0 < result['Metrics']['mAP'] <= result['Metrics']['rank1'] <= 100
    by_name = {m['Name']: m for m in models}
    hr_occ_duke = by_name['bpbreid_hrnet32_1xb64_occluded_duke']['Results'][0]
    assert hr_occ_duke['Dataset'] == 'Occluded-Duke'
    assert hr_occ_duke['Metrics'] == {'rank1': 75.1, 'mAP': 62.5}
