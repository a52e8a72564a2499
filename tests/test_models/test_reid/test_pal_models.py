"""Part awareness learning on whole models: the PS head never changes the test features.

pal.md 10: test features do not depend on the PS head (2), gradient isolation (3),
lambda = 0 is the baseline (4), MGN's shared PS head and flip TTA (13, 15), bfloat16
autocast, and published checkpoints without the PS head.
"""
import copy

import pytest
import torch

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample
from mmreidparts.utils import save_zoo_checkpoint

# a quarter-width ResNet-18: 128 channels at output stride 16
R18 = dict(type='ResNetReID', depth=18, last_stride=1, base_channels=16, stem_channels=16)
PS = dict(type='PartSegHead', in_channels=128, num_classes=8)
HEADS = {
    'globalpool': dict(type='GlobalPoolHead', in_channels=128, num_classes=3, embed_dim=32),
    'pcb': dict(type='PCBHead', in_channels=128, num_classes=3, embed_dim=16),
    'mgn': dict(type='MGNHead', in_channels=128, num_classes=3, embed_dim=16),
}


def _model(kind, ps=True, ps_weight=1.0):
    backbone = R18 if kind != 'mgn' else dict(type='MultiBranchBackbone', backbone=R18,
                                               split=('layer3', 1))
    cfg = dict(type='ReIDModel', backbone=backbone, head=copy.deepcopy(HEADS[kind]))
    if ps:
        ps_head = dict(PS, loss=dict(type='PartSegLoss', loss_weight=ps_weight))
        if kind == 'mgn':
            ps_head['in_index'] = (0, 1, 2)
        cfg['aux_heads'] = dict(ps_head=ps_head)
    if kind == 'mgn':
        cfg['test_cfg'] = dict(flip=True, flip_merge='sum')
    return MODELS.build(cfg)


def _batch(num=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (3, 96, 32), generator=gen, dtype=torch.uint8)
              for _ in range(num)]
    samples = []
    for i in range(num):
        sample = ReIDDataSample(metainfo=dict(img_path=f'{i}.jpg')).set_gt_label(i // 2)
        samples.append(sample.set_gt_part_map(torch.randint(0, 8, (96, 32), generator=gen)))
    return dict(inputs=inputs, data_samples=samples)


def _features(model, data):
    model.eval()
    with torch.no_grad():
        return torch.stack([s.embeddings for s in model(**data, mode='predict')])


@pytest.mark.parametrize('kind', sorted(HEADS))
def test_test_features_are_bit_identical_with_and_without_the_ps_head(kind, tmp_path):
    torch.manual_seed(0)
    plain = _model(kind, ps=False)
    torch.manual_seed(1)
    with_ps = _model(kind, ps=True)
    # the model with PS loads the weights of the model without it (no PS keys in them)
    missing, unexpected = with_ps.load_state_dict(plain.state_dict(), strict=False)
    assert unexpected == [] and all(k.startswith('aux_heads.ps_head.') for k in missing)
    data = plain.data_preprocessor(_batch(), False)
    reference = _features(plain, data)
    assert torch.equal(_features(with_ps, data), reference)
    for p in with_ps.aux_heads.parameters():  # any PS weights: still the same features
        torch.nn.init.normal_(p, std=5.0)
    assert torch.equal(_features(with_ps, data), reference)
    # a published checkpoint has no PS keys and loads strictly into the model without PS
    path = str(tmp_path / 'zoo.pth')
    save_zoo_checkpoint(with_ps, path)
    state = torch.load(path, weights_only=True)['state_dict']
    assert not any('ps_head' in k for k in state)
    _model(kind, ps=False).load_state_dict(state, strict=True)


@pytest.mark.parametrize('kind', sorted(HEADS))
def test_gradient_isolation_between_the_ps_loss_and_the_reid_losses(kind):
    torch.manual_seed(0)
    model = _model(kind)
    model.train()
    data = model.data_preprocessor(_batch(), True)
    losses = model(**data, mode='loss')
    assert 'loss_ps' in losses and torch.isfinite(losses['loss_ps'])
    losses['loss_ps'].backward(retain_graph=True)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.backbone.parameters())
    assert all(p.grad is None for p in model.head.parameters())  # embeddings, classifiers
    model.zero_grad(set_to_none=True)
    reid = sum(v for k, v in losses.items() if k.startswith('loss_') and k != 'loss_ps')
    reid.backward()
    assert all(p.grad is None for p in model.aux_heads.parameters())
    assert all(p.grad is not None for p in model.head.parameters() if p.requires_grad)


@pytest.mark.parametrize('kind', ['globalpool', 'pcb'])
def test_lambda_zero_reproduces_the_baseline_loss(kind):
    torch.manual_seed(0)
    plain = _model(kind, ps=False)
    zero = _model(kind, ps=True, ps_weight=0.0)
    zero.load_state_dict(plain.state_dict(), strict=False)
    data = plain.data_preprocessor(_batch(), True)
    base, _ = plain.parse_losses(plain(**copy.deepcopy(data), mode='loss'))
    total, log_vars = zero.parse_losses(zero(**copy.deepcopy(data), mode='loss'))
    assert log_vars['loss_ps'].item() == 0.0
    assert torch.equal(total, base)


def test_mgn_shared_ps_head_and_flip_invariant_features():
    torch.manual_seed(0)
    model = _model('mgn')
    single = _model('globalpool')
    assert sum(p.numel() for p in model.aux_heads.parameters()) == sum(
        p.numel() for p in single.aux_heads.parameters())  # one head for the 3 branches
    data = model.data_preprocessor(_batch(2), False)
    feats = _features(model, data)
    assert feats.shape == (2, 1, 16 * 8)
    mirrored = dict(inputs=data['inputs'].flip(-1), data_samples=data['data_samples'])
    # f(x) + f(flip(x)) is the same sum for the mirrored image
    assert torch.equal(_features(model, mirrored), feats)
    model.train()
    data = model.data_preprocessor(_batch(), True)
    feats = model.extract_feat(data['inputs'])
    head = model.aux_heads.ps_head
    target = head.part_targets(data['data_samples'], (12, 4), torch.device('cpu'))
    per_branch = [head.loss_ps(head.part_logits(f), target) for f in feats]
    losses = model(**data, mode='loss')
    assert losses['loss_ps'].item() == pytest.approx(torch.stack(per_branch).mean().item(),
                                                     rel=1e-5)


@pytest.mark.parametrize('kind', sorted(HEADS))
def test_training_step_under_bfloat16_autocast(kind):
    torch.manual_seed(0)
    model = _model(kind)
    model.train()
    data = model.data_preprocessor(_batch(), True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**data, mode='loss')
        total, _ = model.parse_losses(losses)
    assert total.dtype == torch.float32 and torch.isfinite(total)
    total.backward()
    assert model.aux_heads.ps_head.classifier.weight.grad.dtype == torch.float32
    model.eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        results = model(**model.data_preprocessor(_batch(2), False), mode='predict')
    assert torch.isfinite(results[0].embeddings).all()
