"""The CPU comparison tier: every method on the same footing as its BoT baseline.

Every ``configs/*/*_mobilenetv2os8_*_cpu.py`` config trains on the tier's backbone (the
ImageNet MobileNetV2 at output stride 8), input size, PK batch, optimizer, schedule and
epochs; its training pipeline is BoT's with only the method's own steps added (label
loading) or swapped in (a method's crop for the pad-crop); test pipeline and evaluator are
BoT's (a method with part maps may validate them too: labels in its val pipeline and
``PartParsingMetric`` after BoT's metric). A method changes its head, losses and those
steps, nothing else. A two-stream model (the part-aligned bilinear one) runs the tier's
backbone as its appearance stream, and its part stream on the same 24x8 grid from the
tier's ImageNet weights or a pose distillation of them.
"""
import glob
import os.path as osp
from typing import List

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs')
TIER = sorted(glob.glob(osp.join(CONFIG_DIR, '*', '*_mobilenetv2os8_*_cpu.py')))
DATASETS = ('cuhk03detected', 'synthetic')
# pipeline steps a method may add, and steps it may put in place of a tier step
METHOD_STEPS = ('LoadPartLabel', 'LoadPifPafLabel')
REPLACEMENTS = {'VPMRandomCrop': 'PadRandomCrop'}
# metrics a method may report beside BoT's in validation
METHOD_METRICS = ('PartParsingMetric', )
# backbone keys a method may set (which stages it reads)
BACKBONE_KEYS = ('out_indices', )
# backbone adapters that wrap the tier backbone (its config is their `backbone`)
BACKBONE_WRAPPERS = ('MultiBranchBackbone', )


TIER_WEIGHTS = 'mobilenetv2_imagenet_torchvision_keys.pt'


def _rel(path: str) -> str:
    return osp.relpath(path, CONFIG_DIR)


def _baseline(dataset: str) -> Config:
    return Config.fromfile(
        osp.join(CONFIG_DIR, 'baseline', f'bot_mobilenetv2os8_1xb64_{dataset}_cpu.py'))


def _dataset_of(path: str) -> str:
    found = [d for d in DATASETS if f'_{d}_cpu.py' in osp.basename(path)]
    assert len(found) == 1, f'{_rel(path)}: a tier config names one of {DATASETS}'
    return found[0]


def _types(pipeline: List[dict]) -> List[str]:
    return [str(t['type']).split('.')[-1] for t in pipeline]


def _strip_method_steps(pipeline: List[dict]) -> List[dict]:
    """The pipeline without the method's own steps, replacements put back."""
    out = []
    for step in pipeline:
        name = str(step['type']).split('.')[-1]
        if name in METHOD_STEPS:
            continue
        out.append(dict(type=REPLACEMENTS[name]) if name in REPLACEMENTS else dict(step))
    return out


def _tier_backbone(backbone: dict) -> dict:
    """The tier backbone inside a config's backbone: MGN's branches unwrapped, a two-stream
    backbone's appearance stream."""
    kind = str(backbone['type']).split('.')[-1]
    if kind in BACKBONE_WRAPPERS:
        return backbone['backbone']
    if kind == 'TwoStreamBackbone':
        return backbone['appearance']
    return backbone


def test_the_tier_has_both_datasets_for_bot_bpbreid_vpm_and_drop():
    names = {_rel(p) for p in TIER}
    for dataset in DATASETS:
        assert f'baseline/bot_mobilenetv2os8_1xb64_{dataset}_cpu.py' in names
        assert f'bpbreid/bpbreid_mobilenetv2os8_1xb64_{dataset}_cpu.py' in names
        assert f'vpm/vpm_mobilenetv2os8_1xb64_{dataset}_cpu.py' in names
        assert f'drop/drop_mobilenetv2os8_1xb64_{dataset}_cpu.py' in names


@pytest.mark.parametrize('dataset', DATASETS)
def test_drop_tier_config_differs_from_bpbreid_only_by_the_head(dataset):
    drop = Config.fromfile(osp.join(CONFIG_DIR, 'drop',
                                    f'drop_mobilenetv2os8_1xb64_{dataset}_cpu.py'))
    bpb = Config.fromfile(osp.join(CONFIG_DIR, 'bpbreid',
                                   f'bpbreid_mobilenetv2os8_1xb64_{dataset}_cpu.py'))
    assert drop.model.head.type == 'DROPHead'
    # the same backbone, returning four stages (48x16, 24x8, 24x8, 24x8 at 192x64)
    assert drop.model.backbone.out_indices == (1, 2, 4, 7)
    assert dict(drop.model.backbone, out_indices=(7, )) == bpb.model.backbone
    assert tuple(drop.model.head.in_channels) == (24, 32, 96, 1280)
    assert drop.model.head.num_parts == bpb.model.head.num_parts
    assert drop.model.head.part_scheme == bpb.model.head.part_scheme
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'val_evaluator', 'test_evaluator'):
        assert drop[key] == bpb[key], key
    # the bank holds M = 4 batches of the tier's batch
    assert drop.model.head.part_triplet_loss.bank_size == 4 * drop.train_dataloader.batch_size


def test_the_tier_has_part_awareness_learning_with_and_without_ps():
    names = {_rel(p) for p in TIER}
    for dataset in DATASETS:
        for model in ('globalpool', 'pcb', 'mgn'):
            for variant in (model, f'{model}_ps'):
                assert f'pal/{variant}_mobilenetv2os8_1xb64_{dataset}_cpu.py' in names


@pytest.mark.parametrize('path', TIER, ids=_rel)
def test_tier_config_differs_from_bot_only_by_the_method(path):
    cfg = Config.fromfile(path)
    bot = _baseline(_dataset_of(path))
    backbone = {k: v for k, v in _tier_backbone(cfg.model.backbone).items()
                if k not in BACKBONE_KEYS}
    assert backbone == {k: v for k, v in bot.model.backbone.items() if k not in BACKBONE_KEYS}
    assert backbone['output_stride'] == 8 and backbone['widen_factor'] == 1.0
    assert backbone['pretrained'].endswith(TIER_WEIGHTS)
    assert cfg.model.data_preprocessor == bot.model.data_preprocessor
    assert cfg.model.head.num_classes == bot.model.head.num_classes
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg', 'test_evaluator',
                'randomness'):
        assert cfg[key] == bot[key], f'{_rel(path)}: {key} differs from BoT'
    # a method with part maps may add the parsing metric to the validation (and load the
    # labels in its val pipeline); the ReID metric comes first and is BoT's
    val = cfg.val_evaluator
    if isinstance(val, (list, tuple)):
        assert val[0] == bot.val_evaluator, f'{_rel(path)}: val_evaluator[0] differs from BoT'
        assert all(m['type'] in METHOD_METRICS for m in val[1:]), _rel(path)
        assert cfg.model.test_cfg.return_part_maps, _rel(path)
        stripped = _strip_method_steps(cfg.val_dataloader.dataset.pipeline)
        assert stripped == bot.val_dataloader.dataset.pipeline, _rel(path)
    else:
        assert val == bot.val_evaluator, f'{_rel(path)}: val_evaluator differs from BoT'
    for key in ('batch_size', 'sampler', 'num_workers'):
        assert cfg.train_dataloader[key] == bot.train_dataloader[key], key
    assert cfg.test_dataloader == bot.test_dataloader
    assert cfg.train_dataloader.dataset.type == bot.train_dataloader.dataset.type
    assert cfg.train_dataloader.dataset.data_root == bot.train_dataloader.dataset.data_root

    stripped = _strip_method_steps(cfg.train_dataloader.dataset.pipeline)
    reference = bot.train_dataloader.dataset.pipeline
    assert _types(stripped) == _types(reference), _rel(path)
    for step, ref in zip(stripped, reference):
        if str(step['type']).split('.')[-1] not in REPLACEMENTS.values():
            assert step == ref, f'{_rel(path)}: {step} differs from the tier step {ref}'


@pytest.mark.parametrize('dataset', DATASETS)
def test_tier_input_gives_24x8_maps(dataset):
    cfg = _baseline(dataset)
    sizes = [t['scale'] for t in cfg.train_dataloader.dataset.pipeline + cfg.test_dataloader.
             dataset.pipeline if t['type'] == 'ReIDResize']
    assert sizes == [(192, 64), (192, 64)]
    assert cfg.model.backbone.output_stride == 8  # 192 / 8 = 24 rows, 64 / 8 = 8 columns


def test_the_tier_has_the_bilinear_model_with_both_part_stream_inits():
    names = {_rel(p) for p in TIER}
    for dataset in DATASETS:
        assert f'part_bilinear/bilinear_mobilenetv2os8_1xb64_{dataset}_cpu.py' in names
    distilled = 'part_bilinear/bilinear_posedistill_mobilenetv2os8_1xb64_cuhk03detected_cpu.py'
    assert distilled in names
    imagenet = Config.fromfile(osp.join(
        CONFIG_DIR, 'part_bilinear', 'bilinear_mobilenetv2os8_1xb64_cuhk03detected_cpu.py'))
    pose = Config.fromfile(osp.join(CONFIG_DIR, distilled))
    assert imagenet.model.backbone.part.pretrained.endswith(TIER_WEIGHTS)
    assert pose.model.backbone.part.pretrained.endswith('part_stream.pth')
    # the only difference between the two: where the part stream starts
    pose.model.backbone.part.pretrained = imagenet.model.backbone.part.pretrained
    assert pose.model == imagenet.model


@pytest.mark.parametrize('path', [p for p in TIER if 'bilinear' in osp.basename(p)], ids=_rel)
def test_two_stream_part_stream_is_on_the_tier_grid(path):
    part = Config.fromfile(path).model.backbone.part
    assert part.type == 'MobileNetV2ReID' and part.output_stride == 8  # 24x8 at 192x64
    assert part.widen_factor == 1.0 and part.drop_unused_layers


def test_part_label_configs_regroup_the_atoms():
    for path in TIER:
        cfg = Config.fromfile(path)
        labels = cfg.train_dataloader.dataset.get('part_labels')
        if labels:
            assert labels['source_scheme'] == 'atoms13', _rel(path)
            assert 'LoadPartLabel' in _types(cfg.train_dataloader.dataset.pipeline)


@pytest.mark.parametrize('path', TIER, ids=_rel)
def test_tier_model_predict_equals_its_tensor_test_graph(path):
    """predict() stores exactly predict_tensors() (the graph ONNX export traces)."""
    import copy

    import torch

    from mmreidparts.registry import MODELS
    from mmreidparts.utils import register_all_modules, strip_pretrained
    register_all_modules()
    cfg = Config.fromfile(path)
    torch.manual_seed(0)
    model = MODELS.build(strip_pretrained(copy.deepcopy(cfg.model.to_dict()))).eval()
    images = torch.rand(2, 3, 192, 64)
    with torch.no_grad():
        embeddings, visibility = model.predict_tensors(images)
        samples = model.predict(images)
    assert embeddings.shape[:2] == visibility.shape
    assert len(model.embedding_names) == embeddings.shape[1]
    for i, sample in enumerate(samples):
        assert torch.allclose(sample.embeddings, embeddings[i], atol=1e-5)
        assert torch.allclose(sample.visibility, visibility[i].to(sample.visibility.dtype))
        assert tuple(sample.embedding_names) == model.embedding_names
