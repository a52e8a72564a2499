"""Part analysis tools: part_iou.py, eval_query_subset.py, visualize_part_attention.py."""
import importlib.util
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from _tool_utils import ROOT, data_root_options, run_tool
from mmengine.config import Config

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample, get_part_scheme
from mmreidparts.utils import register_all_modules, strip_pretrained

TOOLS = osp.join(ROOT, 'tools', 'analysis_tools')
BP_SYNTHETIC = osp.join(ROOT, 'configs', 'bpbreid', 'bpbreid_mobilenetv2_1xb64_synthetic.py')


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def part_iou():
    return load_tool('part_iou')


@pytest.fixture(scope='module')
def subset_tool():
    sys.path.insert(0, TOOLS)  # the tool imports part_iou from its folder
    try:
        return load_tool('eval_query_subset')
    finally:
        sys.path.remove(TOOLS)


def test_confusion_and_iou_hand_worked(part_iou):
    pred = torch.tensor([[0, 1], [1, 2]])
    label = torch.tensor([[0, 1], [2, 255]])  # the ignored pixel (predicted 2) is not counted
    conf = part_iou.confusion(pred, label, 3)
    assert conf.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 0]]
    stats = part_iou.iou_from_confusion(conf)
    # class 0: 1 / 1; class 1: 1 / (1 + 2 - 1); class 2: 0 / (1 + 0 - 0)
    np.testing.assert_allclose(stats['iou'], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(stats['label_share'], [1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(stats['pred_share'], [1 / 3, 2 / 3, 0.0])
    # a class neither labelled nor predicted has no IoU, and the means skip it
    stats = part_iou.iou_from_confusion(part_iou.confusion(pred, label, 4))
    assert np.isnan(stats['iou'][3])
    _, figures = part_iou.report(('bg', 'a', 'b', 'c'), stats)
    assert figures['mIoU_parts'] == pytest.approx(100 * (0.5 + 0.0) / 2)
    assert figures['mIoU_all'] == pytest.approx(100 * 1.5 / 3)
    assert figures['classes'][3]['iou'] is None


@pytest.fixture(scope='module')
def tiny_bpbreid(tmp_path_factory, tiny_synthetic):
    """A config of BPBreID (K=8) at 64x32 on the tiny synthetic set and a random checkpoint."""
    register_all_modules()
    tmp = tmp_path_factory.mktemp('tiny_bpbreid')
    cfg_path = tmp / 'tiny_bpbreid.py'
    cfg_path.write_text(
        f"_base_ = ['{BP_SYNTHETIC}']\n"
        "model = dict(backbone=dict(widen_factor=0.25), head=dict(num_classes=8))\n"
        "train_pipeline = [dict(type='LoadReIDImage'), dict(type='LoadPartLabel'),\n"
        "                  dict(type='ReIDResize', scale=(64, 32)),\n"
        "                  dict(type='PackReIDInputs')]\n"
        "test_pipeline = [dict(type='LoadReIDImage'), dict(type='ReIDResize', scale=(64, 32)),\n"
        "                 dict(type='PackReIDInputs')]\n"
        "train_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n"
        "val_dataloader = dict(dataset=dict(pipeline=test_pipeline))\n"
        "test_dataloader = val_dataloader\n")
    cfg = Config.fromfile(str(cfg_path))
    torch.manual_seed(0)
    model = MODELS.build(strip_pretrained(cfg.model.to_dict()))
    ckpt = str(tmp / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), ckpt)
    return str(cfg_path), ckpt


def test_part_iou_counts_every_labelled_pixel_of_the_split(part_iou, tiny_bpbreid,
                                                           tiny_synthetic, tmp_path):
    cfg_path, ckpt = tiny_bpbreid
    out = tmp_path / 'iou.json'
    proc = run_tool([osp.join(TOOLS, 'part_iou.py'), cfg_path, ckpt, '--split', 'query',
                     '--device', 'cpu', '--out', str(out), '--cfg-options',
                     *data_root_options(tiny_synthetic)])
    assert 'mean (parts)' in proc.stdout
    figures = json.loads(out.read_text())
    assert figures['scheme'] == 'bpbreid8' and len(figures['classes']) == 9
    # the confusion matrix holds one count per labelled pixel of the query images at 64x32
    label_dir = osp.join(tiny_synthetic, 'masks', 'bpbreid8', 'query')
    queries = sorted(n for n in os.listdir(osp.join(tiny_synthetic, 'query'))
                     if n.endswith(('.jpg', '.png')))
    labelled = 0
    for name in queries:
        lab = cv2.imread(osp.join(label_dir, osp.splitext(name)[0] + '.png'),
                         cv2.IMREAD_UNCHANGED)
        lab = cv2.resize(lab, (32, 64), interpolation=cv2.INTER_NEAREST)
        labelled += int((lab != 255).sum())
    conf = np.array(figures['confusion'])
    assert conf.sum() == labelled
    assert figures['images'] == len(queries)
    # the reported shares are those of the confusion matrix
    label_share = conf.sum(axis=1) / conf.sum()
    np.testing.assert_allclose([c['label_share'] for c in figures['classes']],
                               100 * label_share, atol=1e-6)


def _sample(emb, pid, camid, is_query):
    s = ReIDDataSample(metainfo=dict(pid=pid, camid=camid, is_query=is_query))
    return s.set_prediction(torch.tensor([emb], dtype=torch.float32))


def test_subset_metrics_rank_only_the_listed_queries(subset_tool):
    # gallery: id 1 at x=0 (cam 1), id 2 at x=10 (cam 1)
    # query a: id 1 at x=1 (cam 0) -> match at rank 1; query b: id 2 at x=2 -> rank 2
    samples = [_sample([1.0], 1, 0, True), _sample([2.0], 2, 0, True),
               _sample([0.0], 1, 1, False), _sample([10.0], 2, 1, False)]
    names = ['a.jpg', 'b.jpg', 'g1.jpg', 'g2.jpg']
    cfg = dict(type='ReIDMetric', topk=(1, ), protocol='market')
    out = subset_tool.subset_metrics(cfg, samples, names, {'b.jpg'})
    assert out['all']['rank1'] == pytest.approx(50.0)
    assert out['all']['mAP'] == pytest.approx(75.0)  # AP 1 and 1/2
    assert out['subset']['rank1'] == pytest.approx(0.0)
    assert out['subset']['mAP'] == pytest.approx(50.0)
    with pytest.raises(ValueError, match='none of the listed images'):
        subset_tool.subset_metrics(cfg, samples, names, {'g1.jpg'})


def test_subset_readers(subset_tool, tmp_path):
    (tmp_path / 'meta.json').write_text(json.dumps(
        dict(occluded=['query/0001_c1_0.jpg', 'bounding_box_test/0002_c2_0.jpg'])))
    assert subset_tool.occluded_queries(str(tmp_path)) == {'0001_c1_0.jpg'}
    listing = tmp_path / 'list.txt'
    listing.write_text('query/0001_c1_0.jpg\n\n0003_c1_1.jpg\n')
    assert subset_tool.listed_queries(str(listing)) == {'0001_c1_0.jpg', '0003_c1_1.jpg'}
    with pytest.raises(FileNotFoundError, match='meta.json'):
        subset_tool.occluded_queries(str(tmp_path / 'nowhere'))


@pytest.fixture(scope='module')
def vis_tool():
    return load_tool('visualize_part_attention')


def test_labels_are_found_regrouped_and_resized(vis_tool, tmp_path):
    image = tmp_path / 'query' / '0001_c1_0.jpg'
    image.parent.mkdir()
    cv2.imwrite(str(image), np.zeros((8, 4, 3), np.uint8))
    assert vis_tool.label_path(str(image), str(tmp_path / 'masks'), 'atoms13') == str(
        tmp_path / 'masks' / 'atoms13' / 'query' / '0001_c1_0.png')
    # atoms13 ids: 1 head, 2 upper torso, 8 left upper leg -> bpbreid5: head, torso, legs
    atoms = np.array([[1, 1], [2, 0], [8, 255]], np.uint8)
    (tmp_path / 'masks' / 'atoms13' / 'query').mkdir(parents=True)
    cv2.imwrite(str(tmp_path / 'masks' / 'atoms13' / 'query' / '0001_c1_0.png'), atoms)
    [label] = vis_tool.load_labels([str(image)], str(tmp_path / 'masks'), 'bpbreid5',
                                   'atoms13', (6, 4))
    names = get_part_scheme('bpbreid5').names
    head, torso, legs = (names.index(n) + 1 for n in ('head', 'torso', 'legs'))
    expected = np.array([[head, head], [torso, 0], [legs, 255]], np.uint8)
    np.testing.assert_array_equal(label, np.kron(expected, np.ones((2, 2), np.uint8)))
    with pytest.raises(FileNotFoundError, match='bpbreid5/query/0001_c1_0.png'):
        vis_tool.load_labels([str(image)], str(tmp_path / 'masks'), 'bpbreid5', None, (6, 4))


def test_sheet_with_labels_has_the_label_and_prediction_panels(vis_tool, tmp_path):
    maps = np.zeros((1, 3, 2, 1), np.float32)  # K = 2, top cell part 1, bottom background
    maps[0, 1, 0, 0] = maps[0, 0, 1, 0] = 1.0
    image = np.full((4, 2, 3), 128, np.uint8)
    label = np.array([[1, 1], [1, 1], [0, 0], [2, 2]], np.uint8)
    out = tmp_path / 'sheet.png'
    vis_tool.draw_sheet([image], maps, np.array([[True, False]]), ('a', 'b'), str(out),
                        labels=[label])
    with_labels = cv2.imread(str(out))
    vis_tool.draw_sheet([image], maps, np.array([[True, False]]), ('a', 'b'), str(out))
    without = cv2.imread(str(out))
    # 2 parts: image, foreground, 2 maps = 4 panels; with labels 6 panels, same height
    assert with_labels.shape[0] == without.shape[0]
    assert with_labels.shape[1] == pytest.approx(without.shape[1] * 6 / 4, rel=0.02)
    with pytest.raises(ValueError, match='label maps'):
        vis_tool.draw_sheet([image], maps, np.array([[True, False]]), ('a', 'b'), str(out),
                            labels=[label, label])


def test_visualize_part_attention_runs_with_labels(tiny_bpbreid, tiny_synthetic, tmp_path):
    cfg_path, ckpt = tiny_bpbreid
    queries = sorted(osp.join(tiny_synthetic, 'query', n)
                     for n in os.listdir(osp.join(tiny_synthetic, 'query')))[:2]
    out = tmp_path / 'sheet.png'
    proc = run_tool([osp.join(TOOLS, 'visualize_part_attention.py'), cfg_path, ckpt,
                     '--images', *queries, '--out', str(out),
                     '--label-root', osp.join(tiny_synthetic, 'masks'),
                     '--label-scheme', 'atoms13'])
    assert 'saved' in proc.stdout
    sheet = cv2.imread(str(out))
    assert sheet is not None and sheet.shape[1] > sheet.shape[0]


def _options(root):
    return dict(o.split('=', 1) for o in data_root_options(root))


@pytest.fixture(scope='module')
def peaked_bpbreid(tiny_bpbreid, tmp_path_factory):
    """The tiny BPBreID with a pixel classifier far from uniform (varied parsing)."""
    cfg_path, ckpt = tiny_bpbreid
    state = torch.load(ckpt, map_location='cpu')
    gen = torch.Generator().manual_seed(1)
    weight = state['state_dict']['head.pixel_classifier.conv.weight']
    state['state_dict']['head.pixel_classifier.conv.weight'] = torch.randn(
        weight.shape, generator=gen) * 0.5
    out = str(tmp_path_factory.mktemp('peaked') / 'model.pth')
    torch.save(state, out)
    return cfg_path, out


def _previous_confusion(model, dataset, num_classes):
    """The counting part_iou.py did itself before it used the metric's functional core."""
    conf = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for batch in (dict(inputs=[d['inputs'] for d in dataset],
                       data_samples=[d['data_samples'] for d in dataset]), ):
        data = model.data_preprocessor(batch, False)
        with torch.no_grad():
            maps = model.head(model.extract_feat(data['inputs']))['part_maps']
        labels = torch.stack([s.gt_part_map.data[0] for s in data['data_samples']]).long()
        up = torch.nn.functional.interpolate(maps, size=labels.shape[-2:], mode='bilinear',
                                             align_corners=False)
        pred = up.argmax(dim=1)
        valid = labels != 255
        idx = labels[valid] * num_classes + pred[valid]
        conf += torch.bincount(idx, minlength=num_classes**2).reshape(num_classes, num_classes)
    return conf


def test_part_iou_figures_are_the_previous_ones_and_the_metrics(part_iou, peaked_bpbreid,
                                                                tiny_synthetic, tmp_path):
    from mmreidparts.evaluation import PartParsingMetric
    from mmreidparts.evaluation.functional import counts_from_confusion
    from mmreidparts.utils.config import read_config
    cfg_path, ckpt = peaked_bpbreid
    out = tmp_path / 'iou.json'
    options = ['--cfg-options', *data_root_options(tiny_synthetic)]
    assert part_iou.main([cfg_path, ckpt, '--split', 'query', '--device', 'cpu',
                          '--out', str(out), *options]) == 0
    figures = json.loads(out.read_text())
    cfg = read_config(cfg_path, _options(tiny_synthetic))
    model = part_iou.build_model(cfg, ckpt, torch.device('cpu'))
    dataset = part_iou.build_split_dataset(cfg, 'query', 'bpbreid8')
    items = [dataset[i] for i in range(len(dataset))]
    conf = _previous_confusion(model, items, 9)
    assert figures['confusion'] == conf.tolist()
    assert len({c['iou'] for c in figures['classes']}) > 3  # a varied parsing
    # the metric, fed by the model's return_part_maps, counts the same pixels
    model.test_cfg['return_part_maps'] = True
    metric = PartParsingMetric(part_scheme='bpbreid8')
    batch = dict(inputs=[d['inputs'] for d in items],
                 data_samples=[d['data_samples'] for d in items])
    with torch.no_grad():
        samples = model.test_step(batch)
    metric.process(batch, [s.to_dict() for s in samples])
    assert torch.equal(torch.stack(metric.results).sum(0), counts_from_confusion(conf))
    metrics = metric.compute_metrics(metric.results)
    assert metrics['mIoU'] == pytest.approx(figures['mIoU_parts'])
    assert metrics['mIoU_all'] == pytest.approx(figures['mIoU_all'])
    names = ('background', ) + get_part_scheme('bpbreid8').names
    for name, row in zip(names, figures['classes']):
        value = metrics[f'IoU_{name}']
        assert (np.isnan(value) and row['iou'] is None) or value == pytest.approx(row['iou'])
    # --resolution feature: the metric's resolution='map' with the head's label_resize
    assert part_iou.main([cfg_path, ckpt, '--split', 'query', '--device', 'cpu',
                          '--resolution', 'feature', '--out', str(out), *options]) == 0
    feature = json.loads(out.read_text())
    metric = PartParsingMetric(part_scheme='bpbreid8', resolution='map',
                               label_resize=model.head.label_resize)
    metric.process(batch, samples)
    assert metric.compute_metrics(metric.results)['mIoU'] == pytest.approx(
        feature['mIoU_parts'])


class _ParsingOnlyHead(torch.nn.Module):
    """A part head with nothing but the contract: forward(feats)['part_maps'] (softmax,
    background first); no part_scheme, num_parts, part_names or visibility."""

    def __init__(self, in_channels, num_parts):
        super().__init__()
        self.conv = torch.nn.Conv2d(in_channels, num_parts + 1, 1)

    def forward(self, feats):
        return dict(part_maps=self.conv(feats[-1]).softmax(dim=1))

    embedding_names = ('global', )

    def predict_tensors(self, feats):
        emb = feats[-1].mean(dim=(2, 3))[:, None]
        return emb, emb.new_ones(emb.shape[:2])

    def loss(self, feats, data_samples):
        return dict(loss=self(feats)['part_maps'].sum() * 0)


@pytest.fixture(scope='module')
def parsing_only_model(tiny_bpbreid, tmp_path_factory):
    """A config and checkpoint of a model whose head only has the part maps contract."""
    MODELS.register_module('TestParsingOnlyHead', module=_ParsingOnlyHead, force=True)
    cfg_path, _ = tiny_bpbreid
    tmp = tmp_path_factory.mktemp('parsing_only')
    path = tmp / 'parsing_only.py'
    path.write_text(f"_base_ = ['{cfg_path}']\n"
                    "model = dict(head=dict(_delete_=True, type='TestParsingOnlyHead', "
                    "in_channels=1280, num_parts=8))\n")
    cfg = Config.fromfile(str(path))
    torch.manual_seed(0)
    model = MODELS.build(strip_pretrained(cfg.model.to_dict()))
    ckpt = str(tmp / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), ckpt)
    return str(path), ckpt


def test_part_tools_need_only_the_part_maps_contract(part_iou, vis_tool, parsing_only_model,
                                                     tiny_synthetic, tmp_path, capsys):
    cfg_path, ckpt = parsing_only_model
    out = tmp_path / 'iou.json'
    assert part_iou.main([cfg_path, ckpt, '--device', 'cpu', '--out', str(out),
                          '--cfg-options', *data_root_options(tiny_synthetic)]) == 0
    figures = json.loads(out.read_text())
    assert figures['scheme'] == 'bpbreid8' and len(figures['classes']) == 9  # training labels
    queries = sorted(osp.join(tiny_synthetic, 'query', n)
                     for n in os.listdir(osp.join(tiny_synthetic, 'query')))[:2]
    sheet = tmp_path / 'sheet.png'
    assert vis_tool.main([cfg_path, ckpt, '--images', *queries, '--out', str(sheet),
                          '--label-root', osp.join(tiny_synthetic, 'masks'),
                          '--label-scheme', 'atoms13']) == 0
    assert cv2.imread(str(sheet)) is not None


@pytest.mark.parametrize('method', ['bpbreid', 'drop'])
def test_tier_validation_reports_parsing_next_to_reid(method, tiny_synthetic, tmp_path):
    """The tier config as users run it (on the tiny set): the val pipeline loads the labels,
    the model stores its part maps, and validation reports reid/* and parsing/*."""
    from mmengine.runner import Runner
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', method,
                                   f'{method}_mobilenetv2os8_1xb64_synthetic_cpu.py'))
    cfg.model = strip_pretrained(cfg.model.to_dict())
    cfg.model['head']['num_classes'] = 8
    for step in cfg.val_dataloader.dataset.pipeline:
        if step['type'] == 'ReIDResize':
            step['scale'] = (64, 32)
    cfg.val_dataloader.update(batch_size=16, num_workers=0, persistent_workers=False)
    cfg.val_dataloader.dataset.data_root = tiny_synthetic
    cfg.work_dir = str(tmp_path)
    cfg.pop('train_dataloader'), cfg.pop('train_cfg'), cfg.pop('optim_wrapper')
    cfg.pop('param_scheduler')
    runner = Runner.from_cfg(cfg)
    metrics = runner.val()
    assert {'reid/rank1', 'reid/mAP', 'parsing/mIoU', 'parsing/IoU_head'} <= set(metrics)
    assert 0 <= metrics['parsing/mIoU'] <= 100
