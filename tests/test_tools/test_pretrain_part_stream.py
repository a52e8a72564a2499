"""tools/pretrain_part_stream.py: a few distillation iterations, then the stream's weights."""
import copy
import json
import os.path as osp

import pytest
import torch
from _tool_utils import ROOT, run_tool
from mmengine.config import Config

from mmreidparts.registry import MODELS
from mmreidparts.utils import register_all_modules, strip_pretrained

pytestmark = pytest.mark.slow
TOOL = 'tools/pretrain_part_stream.py'
DISTILL = osp.join(ROOT, 'configs', 'part_bilinear',
                   'posedistill_mobilenetv2os8_1xb32_synthetic.py')
BILINEAR = osp.join(ROOT, 'configs', 'part_bilinear',
                    'bilinear_mobilenetv2os8_1xb64_synthetic_cpu.py')
SMALL = ['train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False', 'default_hooks.logger.interval=1']


def test_distillation_writes_a_part_stream_the_bilinear_model_loads(tiny_synthetic, tmp_path,
                                                                    monkeypatch):
    monkeypatch.setenv('MMREIDPARTS_FORCE_CPU_AMP', '1')  # autocast even without bf16 kernels
    out = tmp_path / 'part_stream.pth'
    proc = run_tool([TOOL, DISTILL, '--out', str(out), '--data-root', tiny_synthetic,
                     '--iters', '2', '--amp', '--work-dir', str(tmp_path / 'work'),
                     '--cfg-options'] + SMALL)
    assert 'loss_heatmaps' in proc.stdout + proc.stderr
    start = proc.stdout.rindex('{\n  "kind"')
    info = json.loads(proc.stdout[start:proc.stdout.rindex('}') + 1])
    assert info['kind'] == 'part_stream' and info['iters'] == 2 and info['amp']
    ckpt = torch.load(out, weights_only=True)
    state = ckpt['state_dict']
    assert 'layer5.2.conv.2.bn.running_var' in state and not any(
        k.startswith(('layer6.', 'conv2.', 'part_classifier')) for k in state)
    # the bilinear tier model starts its part stream from it
    register_all_modules()
    cfg = Config.fromfile(BILINEAR).model.to_dict()
    cfg = strip_pretrained(copy.deepcopy(cfg))
    cfg['backbone']['part']['pretrained'] = str(out)
    model = MODELS.build(cfg)
    model.backbone.part.init_weights()
    assert torch.equal(model.backbone.part.layer3[0].conv[0].conv.weight,
                       state['layer3.0.conv.0.conv.weight'])


def test_a_config_without_keypoints_is_refused(tmp_path):
    proc = run_tool([TOOL, BILINEAR, '--out', str(tmp_path / 'x.pth')], check=False)
    assert proc.returncode != 0 and 'no LoadKeypoints step' in proc.stderr
