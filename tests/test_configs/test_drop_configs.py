"""DROP configs: the paper's grid, the K ablation, the headline name, the recipe of drop.md 5/8.

Every config also builds and runs a forward in test_configs_build.py; here each config of
configs/drop builds and trains one step on a random batch with part labels.
"""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample
from mmreidparts.utils import register_all_modules, strip_pretrained

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DROP_DIR = osp.join(ROOT, 'configs', 'drop')
DROP_CONFIGS = sorted(glob.glob(osp.join(DROP_DIR, '*.py')))
BACKBONES = ('hrnet32', 'r50', 'r50ibn')
DATASETS = dict(occluded_duke=8, occluded_duke_384x128=8, p_dukemtmc=8, occluded_reid=8,
                market1501=5, dukemtmcreid=5)
ABLATION_K = (3, 4, 5, 6, 7)
STAGES = dict(hrnet32=(128, 256, 512, 1024), r50=(256, 512, 1024, 2048),
              r50ibn=(256, 512, 1024, 2048))

register_all_modules()


def _cfg(name: str) -> Config:
    return Config.fromfile(osp.join(DROP_DIR, name))


def test_the_grid_the_ablation_and_the_headline_name_exist():
    names = {osp.basename(p) for p in DROP_CONFIGS}
    assert 'drop_hrnet_occduke.py' in names
    for bb in BACKBONES:
        for ds in DATASETS:
            assert f'drop_{bb}_2xb32_{ds}.py' in names
    for k in ABLATION_K:
        assert f'drop_hrnet32_2xb32_occluded_duke_k{k}.py' in names
    for ds in ('cuhk03detected', 'synthetic'):
        assert f'drop_mobilenetv2os8_1xb64_{ds}_cpu.py' in names


def test_headline_config_is_the_hrnet_occluded_duke_config():
    assert _cfg('drop_hrnet_occduke.py')._cfg_dict == \
        _cfg('drop_hrnet32_2xb32_occluded_duke.py')._cfg_dict


@pytest.mark.parametrize('backbone', BACKBONES)
@pytest.mark.parametrize('dataset', list(DATASETS))
def test_grid_config_follows_the_paper(backbone, dataset):
    cfg = _cfg(f'drop_{backbone}_2xb32_{dataset}.py')
    head = cfg.model.head
    k = DATASETS[dataset]
    assert head.type == 'DROPHead'
    assert (head.num_parts, head.part_scheme) == (k, f'bpbreid{k}')
    assert cfg.train_dataloader.dataset.part_labels.scheme == f'bpbreid{k}'
    assert tuple(head.in_channels) == STAGES[backbone]
    assert head.reid_map == ('concat' if backbone == 'hrnet32' else 'last')
    # drop.md 8 defaults
    assert head.parsing_channels == 256 and head.position_encoding == '1d'
    assert head.embed_dim == 512 and head.wamp == 'sum' and head.visibility_threshold == 0.4
    assert head.parsing_loss == dict(type='SmoothedParsingLoss', label_smoothing=0.1,
                                     gamma=0.5, loss_weight=0.4)
    assert head.id_loss == dict(type='CrossEntropyLoss', label_smoothing=0.1)
    assert head.part_triplet_loss.type == 'PartCompactnessTripletLoss'
    assert head.part_triplet_loss.margin == 0.3
    assert head.test_embeddings == ('foreground', 'parts') and head.test_normalize
    # 2 processes x 32 (8 ids x 4) = the global batch of 64; the bank holds M = 4 of them
    assert cfg.train_dataloader.batch_size == 32 == cfg.train_dataloader.sampler.batch_size
    assert cfg.train_dataloader.sampler.num_instances == 4
    assert head.part_triplet_loss.bank_size == 4 * 2 * 32
    size = (384, 128) if dataset.endswith('384x128') else (256, 128)
    for loader in ('train_dataloader', 'test_dataloader'):
        scales = [t['scale'] for t in cfg[loader].dataset.pipeline if t['type'] == 'ReIDResize']
        assert scales == [size], loader
    if dataset == 'occluded_reid':  # DROP's protocol: half of the ids train
        assert cfg.train_dataloader.dataset.type == 'OccludedREID'
        assert cfg.train_dataloader.dataset.split == 'half' == cfg.test_dataloader.dataset.split
        assert head.num_classes == 100


def test_schedule_is_warmup_from_001_then_steps_at_40_and_70():
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import PARAM_SCHEDULERS
    cfg = _cfg('drop_hrnet_occduke.py')
    assert cfg.train_cfg.max_epochs == 120
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=3.5e-4, betas=(0.9, 0.999),
                                               weight_decay=5e-4)
    wrapper = build_optim_wrapper(torch.nn.Linear(1, 1), copy.deepcopy(cfg.optim_wrapper))
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper))
                  for s in copy.deepcopy(cfg.param_scheduler)]
    lrs = []
    for _ in range(120):
        lrs.append(wrapper.optimizer.param_groups[0]['lr'])
        wrapper.optimizer.step()
        for s in schedulers:
            s.step()
    # mmengine's LinearLR(begin=0, end=10) is linear from 0.01x at epoch 0 to 1x at epoch 9
    expected = {0: 3.5e-6, 5: 3.5e-4 * (0.01 + 0.99 * 5 / 9), 9: 3.5e-4, 39: 3.5e-4,
                40: 3.5e-5, 70: 3.5e-6, 119: 3.5e-6}
    for epoch, lr in expected.items():
        assert lrs[epoch] == pytest.approx(lr, rel=1e-6), epoch


@pytest.mark.parametrize('k', ABLATION_K)
def test_ablation_config_changes_only_k(k):
    main = _cfg('drop_hrnet32_2xb32_occluded_duke.py')
    cfg = _cfg(f'drop_hrnet32_2xb32_occluded_duke_k{k}.py')
    main.model.head.update(num_parts=k, part_scheme=f'bpbreid{k}')
    main.train_dataloader.dataset.part_labels.scheme = f'bpbreid{k}'
    for key in ('model', 'train_dataloader', 'test_dataloader', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'test_evaluator'):
        assert cfg[key] == main[key], key


def _samples(num: int, num_parts: int, size) -> list:
    gen = torch.Generator().manual_seed(0)
    out = []
    for i in range(num):
        s = ReIDDataSample().set_gt_label(i // 2)
        s.set_gt_part_map(torch.randint(0, num_parts + 1, size, generator=gen))
        out.append(s)
    return out


@pytest.mark.parametrize('name', ['drop_hrnet_occduke.py', 'drop_r50_2xb32_market1501.py',
                                  'drop_r50ibn_2xb32_occluded_duke_384x128.py',
                                  'drop_mobilenetv2os8_1xb64_synthetic_cpu.py',
                                  'drop_mobilenetv2os8_1xb64_cuhk03detected_cpu.py'])
def test_config_model_trains_one_step_and_predicts(name):
    cfg = _cfg(name)
    model_cfg = strip_pretrained(copy.deepcopy(cfg.model.to_dict()))
    model_cfg['head']['part_triplet_loss']['bank_size'] = 8
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    k = model.head.num_parts
    images = torch.rand(4, 3, 64, 32)
    losses = model.loss(images, _samples(4, k, (64, 32)))
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    model.eval()
    with torch.no_grad():
        emb, vis = model.predict_tensors(images)
    assert emb.shape[:2] == vis.shape == (4, 1 + k)


ABLATIONS = {
    'nosmooth': dict(parsing_loss=dict(gamma=0.0)),
    'parttri_nosmooth': dict(parsing_loss=dict(gamma=0.0), train_visibility='none',
                             part_triplet_loss=dict(type='PartAveragedTripletLoss', margin=0.3)),
    'hct_nosmooth': dict(parsing_loss=dict(gamma=0.0), train_visibility='none',
                         part_triplet_loss=dict(type='PartHCTLoss', margin=0.3)),
    'nopos_parttri_nosmooth': dict(
        parsing_loss=dict(gamma=0.0), train_visibility='none', position_encoding=None,
        part_triplet_loss=dict(type='PartAveragedTripletLoss', margin=0.3)),
    'pos2d_parttri_nosmooth': dict(
        parsing_loss=dict(gamma=0.0), train_visibility='none', position_encoding='2d',
        part_triplet_loss=dict(type='PartAveragedTripletLoss', margin=0.3)),
}


@pytest.mark.parametrize('suffix', list(ABLATIONS))
def test_component_ablation_changes_only_its_switches(suffix):
    """Tables 4, 5 and 9: each ablation differs from the main config by its switches only."""
    main = _cfg('drop_hrnet32_2xb32_occluded_duke.py')
    cfg = _cfg(f'drop_hrnet32_2xb32_occluded_duke_{suffix}.py')
    for key, value in ABLATIONS[suffix].items():
        if key == 'parsing_loss':
            main.model.head.parsing_loss.update(value)
        else:
            main.model.head[key] = value
    assert cfg.model == main.model
    for key in ('train_dataloader', 'test_dataloader', 'optim_wrapper', 'param_scheduler',
                'train_cfg'):
        assert cfg[key] == main[key], key
