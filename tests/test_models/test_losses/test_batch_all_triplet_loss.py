"""Batch-all triplet loss: hand-worked values, a brute-force loop, the triplet count."""
import itertools

import pytest
import torch

from mmreidparts.models.losses import BatchAllTripletLoss, batch_all_triplet
from mmreidparts.registry import MODELS

# unit vectors; identities 0 (f0, f1) and 1 (f2, f3). Inner products:
# s01 = 0.6, s02 = 0, s03 = 0.8, s12 = 0.8, s13 = 0, s23 = -0.6
FEATS = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [0.8, -0.6]])
LABELS = torch.tensor([0, 0, 1, 1])
# hinges 0.2 + s_qn - s_qp of the 8 triplets (q, p, n):
# (0,1,2) -0.4 -> 0   (0,1,3) 0.4   (1,0,2) 0.4   (1,0,3) -0.4 -> 0
# (2,3,0) 0.8   (2,3,1) 1.6   (3,2,0) 1.6   (3,2,1) 0.8         sum 5.6, 6 active
HINGE_SUM = 5.6


def brute_force(feats, labels, margin, metric):
    """Triple loop over (q, p, n): the sum of the hinges, valid and active counts."""
    total, valid, active = 0.0, 0, 0
    n = len(labels)
    for q, p, k in itertools.product(range(n), repeat=3):
        if p == q or labels[p] != labels[q] or labels[k] == labels[q]:
            continue
        if metric == 'similarity':
            term = margin + float(feats[q] @ feats[k]) - float(feats[q] @ feats[p])
        else:
            term = margin + float((feats[q] - feats[p]).pow(2).sum()) \
                - float((feats[q] - feats[k]).pow(2).sum())
        valid += 1
        if term > 0:
            active += 1
            total += term
    return total, valid, active


def test_hand_worked_similarity_loss_both_reductions():
    res = batch_all_triplet(FEATS, LABELS, margin=0.2, metric='similarity', reduction='all')
    assert int(res.num_triplets) == 8 and int(res.num_active) == 6
    assert res.loss.item() == pytest.approx(HINGE_SUM / 8, abs=1e-6)
    res = batch_all_triplet(FEATS, LABELS, margin=0.2, metric='similarity', reduction='active')
    assert res.loss.item() == pytest.approx(HINGE_SUM / 6, abs=1e-6)
    res = batch_all_triplet(FEATS, LABELS, margin=0.2, reduction='sum')
    assert res.loss.item() == pytest.approx(HINGE_SUM, abs=1e-6)


def test_squared_euclidean_is_twice_the_similarity_hinge_with_half_margin():
    # on unit vectors |a - b|^2 = 2 - 2 <a, b>: hinge = 2 (0.1 + s_qn - s_qp); the active
    # terms are 0.6, 0.6, 1.4, 3.0, 3.0, 1.4 (sum 10)
    res = batch_all_triplet(FEATS, LABELS, margin=0.2, metric='sqeuclidean', reduction='active')
    assert int(res.num_active) == 6
    assert res.loss.item() == pytest.approx(10.0 / 6, abs=1e-5)
    half = batch_all_triplet(FEATS, LABELS, margin=0.1, metric='similarity', reduction='sum')
    full = batch_all_triplet(FEATS, LABELS, margin=0.2, metric='sqeuclidean', reduction='sum')
    assert full.loss.item() == pytest.approx(2 * half.loss.item(), abs=1e-5)


@pytest.mark.parametrize('metric', ['similarity', 'sqeuclidean'])
def test_vectorised_loss_equals_a_triple_loop(metric):
    gen = torch.Generator().manual_seed(0)
    feats = torch.nn.functional.normalize(torch.randn(9, 5, generator=gen), dim=1)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    total, valid, active = brute_force(feats, labels, 0.2, metric)
    res = batch_all_triplet(feats, labels, 0.2, metric, reduction='sum')
    assert res.loss.item() == pytest.approx(total, abs=1e-4)
    assert int(res.num_triplets) == valid and int(res.num_active) == active
    res = batch_all_triplet(feats, labels, 0.2, metric, reduction='all')
    assert res.loss.item() == pytest.approx(total / valid, abs=1e-5)


def test_valid_triplet_count_is_sum_k_k_minus_1_b_minus_k():
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])  # K = 3, 2, 1, 4 of B = 10
    expected = 3 * 2 * 7 + 2 * 1 * 8 + 0 + 4 * 3 * 6  # = 42 + 16 + 72 = 130
    res = batch_all_triplet(torch.randn(10, 4), labels)
    assert int(res.num_triplets) == expected == brute_force(torch.randn(10, 4), labels, 0.2,
                                                            'similarity')[1]
    # the paper's batch: 18 ids x 10 images, B = 180
    labels = torch.arange(18).repeat_interleave(10)
    assert int(batch_all_triplet(torch.randn(180, 8), labels).num_triplets) == 275400


def test_zero_loss_when_every_margin_is_met():
    feats = torch.eye(3).repeat_interleave(2, dim=0).requires_grad_(True)  # s_qp 1, s_qn 0
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    for reduction in ('all', 'active'):
        res = batch_all_triplet(feats, labels, margin=0.2, reduction=reduction)
        assert res.loss.item() == 0.0 and int(res.num_active) == 0
    res.loss.backward()  # the zero keeps the graph
    assert feats.grad is not None and float(feats.grad.abs().sum()) == 0.0


def test_registered_module_weight_and_bfloat16_autocast():
    loss = MODELS.build(dict(type='BatchAllTripletLoss', loss_weight=0.5))
    assert loss.reduction == 'active' and loss.metric == 'similarity' and loss.margin == 0.2
    assert loss(FEATS, LABELS).item() == pytest.approx(0.5 * HINGE_SUM / 6, abs=1e-6)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = BatchAllTripletLoss(reduction='sum')(FEATS.bfloat16(), LABELS)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(HINGE_SUM, abs=0.02)  # inputs rounded to bfloat16


def test_bad_arguments_name_the_option():
    with pytest.raises(ValueError, match='metric'):
        BatchAllTripletLoss(metric='cosine')
    with pytest.raises(ValueError, match='reduction'):
        BatchAllTripletLoss(reduction='mean')
    with pytest.raises(ValueError, match='labels'):
        batch_all_triplet(FEATS, torch.tensor([0, 1]))
