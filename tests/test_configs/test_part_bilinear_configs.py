"""The part-aligned bilinear configs: the paper's recipe, the release's switches, the metafile."""
import glob
import os.path as osp

import pytest
import yaml
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DIR = osp.join(ROOT, 'configs', 'part_bilinear')
CONFIGS = sorted(glob.glob(osp.join(DIR, '*.py')))
PAPER = [p for p in CONFIGS if 'googlenet' in osp.basename(p) or 'r50' in osp.basename(p)]


def _cfg(name: str) -> Config:
    return Config.fromfile(osp.join(DIR, name))


@pytest.mark.parametrize('path', PAPER, ids=osp.basename)
def test_paper_configs_follow_the_recipe(path):
    cfg = Config.fromfile(path)
    pipeline = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert pipeline == ['LoadReIDImage', 'ReIDResize', 'ReIDRandomFlip', 'PackReIDInputs']
    assert cfg.train_dataloader.dataset.pipeline[1]['scale'] == (160, 80)
    assert cfg.test_dataloader.dataset.pipeline[1]['scale'] == (160, 80)
    sampler = cfg.train_dataloader.sampler
    assert sampler.type == 'IdentitySampler' and sampler.num_instances == 10
    assert sampler.batch_size == cfg.train_dataloader.batch_size
    opt = cfg.optim_wrapper
    assert opt.optimizer.type == 'CaffeSGD' and opt.optimizer.lr == 0.01
    assert opt.optimizer.momentum == 0.9
    assert opt.paramwise_cfg == dict(bias_lr_mult=2.0, bias_decay_mult=0.0)
    assert cfg.param_scheduler == [dict(type='MultiStepLR', by_epoch=False, gamma=0.2,
                                        milestones=[20000, 40000, 60000])]
    assert cfg.train_cfg.max_iters == 75000 and not cfg.train_cfg.by_epoch
    head = cfg.model.head
    assert (head.app_dim, head.part_dim) == (512, 128) and not head.part_relu
    assert head.pooling == dict(type='CompactBilinearPooling', output_dim=512,
                                seeds=(1, 3, 5, 7))
    assert head.loss.margin == 0.2 and head.loss.reduction == 'active'
    assert cfg.model.data_preprocessor.mean is None  # each stream normalises its own copy
    backbone = cfg.model.backbone
    dilated = backbone.appearance.get('dilation', 1) == 2
    assert backbone.part_align == ('none' if dilated else 'max2x2')
    assert backbone.part.type == 'OpenPoseTrunk' and backbone.part_norm in ('openpose',
                                                                             'release_pose')


def test_paper_default_and_release_switches():
    paper = _cfg('bilinear_googlenet_openpose_d2_1xb180_market1501.py')
    release = _cfg('bilinear_googlenet_openpose_d2_1xb250_market1501_release.py')
    assert paper.optim_wrapper.optimizer.weight_decay == 2e-3  # the paper's
    assert paper.model.head.loss.metric == 'similarity'
    assert paper.model.backbone.part_norm == 'openpose'
    assert release.optim_wrapper.optimizer.weight_decay == 2e-4
    assert release.model.head.loss.metric == 'sqeuclidean'
    assert release.model.backbone.part_norm == 'release_pose'
    loader = release.train_dataloader
    assert loader.batch_size == 250 == loader.sampler.batch_size
    assert paper.train_dataloader.batch_size == 180  # 18 ids x 10 images


def test_video_and_distractor_configs():
    mars = _cfg('bilinear_googlenet_openpose_1xb250_mars.py')
    assert mars.test_dataloader.dataset.type == 'MARS'
    assert mars.test_dataloader.dataset.query_in_gallery
    assert mars.test_dataloader.sampler.round_up is False
    assert mars.test_evaluator.tracklets == dict(normalize=True, visibility='max')
    assert mars.train_dataloader.batch_size == 250
    big = _cfg('bilinear_googlenet_openpose_d2_1xb180_market1501_500k.py')
    assert big.test_dataloader.dataset.type == 'Market1501Distractors'
    assert big.train_dataloader.dataset.type == 'Market1501'
    cuhk01 = _cfg('bilinear_googlenet_openpose_1xb180_cuhk01.py')
    assert 'cuhk03detected' in cuhk01.load_from


def test_metafile_lists_every_config_with_paper_figures():
    with open(osp.join(DIR, 'metafile.yml'), encoding='utf-8') as f:
        meta = yaml.safe_load(f)
    assert [c['Name'] for c in meta['Collections']] == ['PartBilinear']
    models = meta['Models']
    assert {m['Config'] for m in models} == {osp.relpath(p, ROOT) for p in CONFIGS}
    assert len({m['Name'] for m in models}) == len(models)
    for m in models:
        assert osp.basename(m['Config']) == m['Name'] + '.py'
        for result in m.get('Results', []):
            source = result['Source']
            assert source.startswith('paper') or ('measured' in source and 'Command' in result)
            metrics = result['Metrics']
            assert 0 < metrics['mAP'] <= 100 and 0 < metrics['rank1'] <= 100
            if source.startswith('paper'):
                # the paper's single-query tables: mAP below rank-1 (a check on the copying);
                # a measured run can have mAP above rank-1 (few true matches per query)
                assert metrics['mAP'] <= metrics['rank1']
    by_name = {m['Name']: m for m in models}
    d2 = by_name['bilinear_googlenet_openpose_d2_1xb180_market1501']['Results'][0]
    assert d2['Dataset'] == 'Market-1501' and d2['Metrics']['rank1'] == 91.7
    assert d2['Metrics']['mAP'] == 79.6
    mars = by_name['bilinear_googlenet_openpose_1xb250_mars']['Results'][0]['Metrics']
    assert (mars['rank1'], mars['mAP']) == (83.0, 72.2)
    release = by_name['bilinear_googlenet_openpose_d2_1xb250_market1501_release']
    converter = release['Converted From']['Converter']
    assert converter.startswith('python tools/model_converters/part_bilinear_to_mmreidparts.py '
                                '{src} {dst} --config ')
    assert release['Converted From']['File'] == 'logs/market1501/d2_b250/epoch_750.pth.tar'
    # the CPU tier entries are built here; the pose-distilled one reads the distillation
    tier = by_name['bilinear_posedistill_mobilenetv2os8_1xb64_cuhk03detected_cpu']['Build']
    assert tier['Train Cfg Options'] == {
        'model.backbone.part.pretrained': '${MMREIDPARTS_BILINEAR_PART_STREAM}'}
