"""DROP checkpoints in the unchanged tools: part_iou.py, visualize_part_attention.py, ONNX
export and the inferencer's part maps (the head keeps BPBreID's contract)."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from _tool_utils import ROOT, data_root_options, run_tool
from mmengine.config import Config

from mmreidparts.registry import MODELS
from mmreidparts.utils import register_all_modules, strip_pretrained

pytestmark = pytest.mark.slow
TOOLS = osp.join(ROOT, 'tools', 'analysis_tools')
DROP_SYNTHETIC = osp.join(ROOT, 'configs', 'drop', 'drop_mobilenetv2os8_1xb64_synthetic_cpu.py')


@pytest.fixture(scope='module')
def tiny_drop(tmp_path_factory):
    """The DROP tier config (K=8) at 64x32 with a narrow MobileNetV2, and a checkpoint whose
    part maps are not uniform."""
    register_all_modules()
    tmp = tmp_path_factory.mktemp('tiny_drop')
    cfg_path = tmp / 'tiny_drop.py'
    cfg_path.write_text(
        f"_base_ = ['{DROP_SYNTHETIC}']\n"
        "model = dict(backbone=dict(widen_factor=0.25, pretrained=None),\n"
        "             head=dict(in_channels=(8, 8, 24, 1280), num_classes=8, embed_dim=16,\n"
        "                       parsing_channels=16))\n"
        "train_pipeline = [dict(type='LoadReIDImage'), dict(type='LoadPartLabel'),\n"
        "                  dict(type='ReIDResize', scale=(64, 32)),\n"
        "                  dict(type='PackReIDInputs')]\n"
        "test_pipeline = [dict(type='LoadReIDImage'), dict(type='ReIDResize', scale=(64, 32)),\n"
        "                 dict(type='PackReIDInputs')]\n"
        "train_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n"
        "val_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,\n"
        "                      dataset=dict(pipeline=test_pipeline))\n"
        "test_dataloader = val_dataloader\n")
    cfg = Config.fromfile(str(cfg_path))
    torch.manual_seed(0)
    model = MODELS.build(strip_pretrained(cfg.model.to_dict()))
    with torch.no_grad():
        model.head.parsing_head.conv.weight.normal_(0, 0.3)
    model.eval()
    ckpt = str(tmp / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), ckpt)
    return str(cfg_path), ckpt, model


def test_part_iou_on_a_drop_checkpoint(tiny_drop, tiny_synthetic, tmp_path):
    cfg_path, ckpt, _ = tiny_drop
    out = tmp_path / 'iou.json'
    proc = run_tool([osp.join(TOOLS, 'part_iou.py'), cfg_path, ckpt, '--split', 'query',
                     '--device', 'cpu', '--out', str(out), '--cfg-options',
                     *data_root_options(tiny_synthetic)])
    assert 'mean (parts)' in proc.stdout
    figures = json.loads(out.read_text())
    assert figures['scheme'] == 'bpbreid8' and len(figures['classes']) == 9


def test_visualize_part_attention_on_a_drop_checkpoint(tiny_drop, tiny_synthetic, tmp_path):
    cfg_path, ckpt, _ = tiny_drop
    queries = sorted(osp.join(tiny_synthetic, 'query', n)
                     for n in os.listdir(osp.join(tiny_synthetic, 'query')))[:2]
    out = tmp_path / 'sheet.png'
    proc = run_tool([osp.join(TOOLS, 'visualize_part_attention.py'), cfg_path, ckpt,
                     '--images', *queries, '--out', str(out)])
    assert 'saved' in proc.stdout and out.is_file()


def test_onnx_export_of_drop_matches_pytorch(tiny_drop, tmp_path):
    pytest.importorskip('onnx')
    pytest.importorskip('onnxruntime')
    from mmreidparts.apis import init_model
    from mmreidparts.deployment import export_model_file, onnx_max_diff
    cfg_path, ckpt, _ = tiny_drop
    model = init_model(cfg_path, ckpt, device='cpu')
    path, _ = export_model_file(model, str(tmp_path / 'drop.onnx'),
                                source=dict(config='tiny_drop.py'))
    torch.manual_seed(3)
    emb_diff, vis_diff = onnx_max_diff(model, path, torch.randn(3, 3, 64, 32))
    assert emb_diff < 1e-4 and vis_diff == 0.0


def test_inferencer_returns_drop_part_maps(tiny_drop, tiny_synthetic):
    from mmreidparts.apis import ReIDInferencer
    cfg_path, ckpt, _ = tiny_drop
    image = sorted(osp.join(tiny_synthetic, 'query', n)
                   for n in os.listdir(osp.join(tiny_synthetic, 'query')))[0]
    inferencer = ReIDInferencer(cfg_path, ckpt, show_progress=False)
    maps = inferencer([image], return_part_maps=True)[0]['part_map']
    assert maps.shape == (9, 16, 8)  # K+1 parsing maps at stride 4 of 64x32
    assert np.allclose(maps.sum(axis=0), np.ones((16, 8)), atol=1e-5)


def test_tier_label_pipeline_gives_quarter_size_label_maps(tiny_synthetic):
    """drop.md 10.14: the labels the head trains on are [H/4, W/4] maps of ids 0..K."""
    from mmreidparts.registry import DATASETS
    register_all_modules()
    cfg = Config.fromfile(DROP_SYNTHETIC)
    data_cfg = cfg.train_dataloader.dataset.to_dict()
    data_cfg['data_root'] = tiny_synthetic
    dataset = DATASETS.build(data_cfg)
    torch.manual_seed(0)
    model = MODELS.build(strip_pretrained(cfg.model.to_dict()))
    samples = [dataset[i]['data_samples'] for i in range(4)]
    target = model.head.part_targets(samples, (48, 16), torch.device('cpu'))
    assert target.shape == (4, 48, 16)  # 192x64 input / 4
    ids = set(target.unique().tolist())
    assert ids <= set(range(9)) | {255} and len(ids - {0, 255}) >= 3
