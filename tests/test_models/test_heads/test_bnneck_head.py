"""BNNeck head: pooling, frozen BN bias, BoT losses, the predict contract."""
import math

import pytest
import torch

from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample

SQRT52 = math.sqrt(52.0)


def _samples(labels):
    return [ReIDDataSample().set_gt_label(label) for label in labels]


def _head(**kwargs):
    cfg = dict(type='BNNeckHead', in_channels=2, num_classes=2)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_bnneck_bias_is_frozen_at_zero():
    head = _head()
    assert not head.bnneck.bias.requires_grad
    assert head.classifier.bias is None
    optimizer = torch.optim.SGD([p for p in head.parameters() if p.requires_grad], lr=1.0)
    feats = (torch.randn(4, 2, 3, 3), )
    losses = head.loss(feats, _samples([0, 0, 1, 1]))
    (losses['loss_cls'] + losses['loss_triplet']).backward()
    optimizer.step()
    assert torch.equal(head.bnneck.bias, torch.zeros(2))
    assert head.bnneck.bias.grad is None


def test_loss_values_worked_by_hand():
    head = _head(loss_triplet=None)
    with torch.no_grad():
        head.classifier.weight.copy_(torch.eye(2))
    # pooled features (1, 0) and (0, 1); in training the BN standardises each channel
    # over the batch: mean 0.5, std 0.5 -> (1, -1) and (-1, 1), the logits (eye classifier)
    feats = (torch.tensor([[1., 0.], [0., 1.]])[:, :, None, None].expand(2, 2, 2, 2), )
    losses = head.loss(feats, _samples([0, 1]))
    # smoothed targets (0.95, 0.05); softmax(1, -1) = (1, e^2) / (1 + e^2) ...
    # loss = 0.95 log(1 + e^-2) + 0.05 log(1 + e^2) = log(1 + e^-2) + 0.05 * 2
    expected = math.log1p(math.exp(-2)) + 0.1
    assert losses['loss_cls'].item() == pytest.approx(expected, abs=1e-4)
    assert losses['acc_top1'].item() == pytest.approx(100.0)
    assert not losses['acc_top1'].requires_grad
    assert set(losses) == {'loss_cls', 'acc_top1'}


def test_triplet_on_pre_bn_feature_and_center_loss():
    head = _head(loss_center=dict(type='CenterLoss', loss_weight=0.5))
    points = torch.tensor([[0., 0.], [3., 4.], [0., 4.], [6., 0.]])  # ids A, A, B, B
    feats = (points[:, :, None, None], )
    with torch.no_grad():
        head.loss_center.centers.zero_()
    losses = head.loss(feats, _samples([0, 0, 1, 1]))
    # batch-hard with margin 0.3 on the raw points (see test_triplet_loss.py)
    assert losses['loss_triplet'].item() == pytest.approx((SQRT52 - 1.9) / 2, abs=1e-5)
    # centres at 0: 0.5 * mean(|p|^2) = 0.5 * (0 + 25 + 16 + 36) / 4
    assert losses['loss_center'].item() == pytest.approx(0.5 * 77 / 4)
    assert head.loss_center.centers.shape == (2, 2)


def test_predict_contract_and_pooling():
    # one channel map 1, 2, 3, 6: avg 3, max 6, GeM(p=3) = (252 / 4)^(1/3)
    values = torch.tensor([1., 2., 3., 6.]).reshape(1, 1, 2, 2)
    feats = (torch.zeros(1, 1, 1, 1), torch.cat([values, values], dim=1))
    expected = {'avg': 3.0, 'max': 6.0, 'gem': 63 ** (1 / 3)}
    for pool, value in expected.items():
        head = _head(pool=pool, test_feature='before_bn').eval()
        [sample] = head.predict(feats, [ReIDDataSample(metainfo=dict(pid=7))])
        assert sample.embeddings.shape == (1, 2)
        assert sample.embeddings[0, 0].item() == pytest.approx(value, rel=1e-5)
        assert sample.visibility.tolist() == [1.0]
        assert sample.embedding_names == ('global', )
        assert sample.pid == 7
    # after the BN in eval mode (running mean 0, var 1): x / sqrt(1 + eps)
    head = _head().eval()
    [sample] = head.predict(feats)
    assert sample.embeddings[0, 0].item() == pytest.approx(3 / math.sqrt(1 + 1e-5), rel=1e-6)


def test_num_classes_mismatch_and_channels():
    head = _head(num_classes=3)
    with pytest.raises(ValueError, match='num_classes'):
        head.loss((torch.randn(2, 2, 1, 1), ), _samples([0, 5]))
    with pytest.raises(ValueError, match='in_channels'):
        head.predict((torch.randn(2, 4, 1, 1), ))
    with pytest.raises(ValueError, match='test_feature'):
        _head(test_feature='middle')


def test_predict_tensors_is_what_predict_stores():
    values = torch.tensor([1., 2., 3., 6.]).reshape(1, 1, 2, 2)
    feats = (torch.cat([values, -values], dim=1).repeat(3, 1, 1, 1), )  # [3, 2, 2, 2]
    head = _head(test_feature='before_bn').eval()
    embeddings, visibility = head.predict_tensors(feats)
    assert embeddings.shape == (3, 1, 2) and visibility.tolist() == [[1.0]] * 3
    assert embeddings[0, 0].tolist() == [3.0, -3.0]  # the average of each channel
    samples = head.predict(feats)
    assert all(torch.equal(s.embeddings, embeddings[i]) for i, s in enumerate(samples))
    assert head.embedding_names == ('global', )
    with pytest.raises(ValueError, match='2 data samples for a batch of 3'):
        head.predict(feats, [ReIDDataSample(), ReIDDataSample()])
