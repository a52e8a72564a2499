"""Batch-hard triplet loss on hand-worked 2-D examples."""
import math

import pytest
import torch

from mmreidparts.models.losses import TripletLoss, batch_hard_triplet, pairwise_euclidean
from mmreidparts.registry import MODELS

# p0=(0,0) and p1=(3,4) are identity A; p2=(0,4) and p3=(6,0) are identity B.
POINTS = torch.tensor([[0., 0.], [3., 4.], [0., 4.], [6., 0.]])
LABELS = torch.tensor([0, 0, 1, 1])
SQRT52 = math.sqrt(52.0)  # |p2 - p3| = sqrt(6^2 + 4^2)


def test_pairwise_euclidean_distances():
    dist = pairwise_euclidean(POINTS, POINTS)
    # d01 = 5, d02 = 4, d03 = 6, d12 = 3, d13 = sqrt(3^2 + 4^2) = 5, d23 = sqrt(52)
    expected = torch.tensor([[0., 5., 4., 6.],
                             [5., 0., 3., 5.],
                             [4., 3., 0., SQRT52],
                             [6., 5., SQRT52, 0.]])
    assert torch.allclose(dist, expected, atol=1e-5)


def test_pairwise_euclidean_gradient_finite_at_zero_distance():
    x = torch.tensor([[1., 2.], [1., 2.]], requires_grad=True)
    pairwise_euclidean(x, x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_batch_hard_hinge_value():
    # hardest positive / hardest negative per anchor:
    # a0: 5 / min(4, 6) = 4 -> 5 - 4 + 0.3 = 1.3
    # a1: 5 / min(3, 5) = 3 -> 2.3
    # a2: sqrt52 / min(4, 3) = 3 -> sqrt52 - 2.7
    # a3: sqrt52 / min(6, 5) = 5 -> sqrt52 - 4.7
    dist = pairwise_euclidean(POINTS, POINTS)
    per_anchor, num_valid = batch_hard_triplet(dist, LABELS, margin=0.3, reduction='none')
    expected = torch.tensor([1.3, 2.3, SQRT52 - 2.7, SQRT52 - 4.7])
    assert torch.allclose(per_anchor, expected, atol=1e-5)
    assert num_valid.item() == 4
    loss, _ = batch_hard_triplet(dist, LABELS, margin=0.3)
    assert loss.item() == pytest.approx((SQRT52 - 1.9) / 2, abs=1e-5)


def test_soft_margin_value():
    gaps = [5 - 4, 5 - 3, SQRT52 - 3, SQRT52 - 5]  # d+ - d- of each anchor
    expected = sum(math.log1p(math.exp(g)) for g in gaps) / 4
    loss = TripletLoss(soft_margin=True)(POINTS, LABELS)
    assert loss.item() == pytest.approx(expected, abs=1e-5)


def test_anchors_without_positive_or_negative_are_skipped():
    # the third point is alone with its identity: no positive, but a negative for others
    dist = torch.tensor([[0., 1., 2.], [1., 0., 0.5], [2., 0.5, 0.]])
    labels = torch.tensor([0, 0, 1])
    per_anchor, num_valid = batch_hard_triplet(dist, labels, margin=1.0, reduction='none')
    # a0: 1 - 2 + 1 = 0; a1: 1 - 0.5 + 1 = 1.5; a2 skipped
    assert num_valid.item() == 2
    assert torch.allclose(per_anchor, torch.tensor([0., 1.5, 0.]))
    loss, _ = batch_hard_triplet(dist, labels, margin=1.0)
    assert loss.item() == pytest.approx(0.75)


def test_works_on_any_distance_matrix_and_empty_batches():
    dist = torch.tensor([[0., 7.], [7., 0.]], requires_grad=True)
    loss, num_valid = batch_hard_triplet(dist, torch.tensor([3, 3]))
    assert num_valid.item() == 0 and loss.item() == 0.0
    loss.backward()
    assert torch.equal(dist.grad, torch.zeros(2, 2))
    with pytest.raises(ValueError, match='square'):
        batch_hard_triplet(torch.zeros(2, 3), torch.tensor([0, 1]))


def test_module_from_config_with_weight_and_normalize():
    loss = MODELS.build(dict(type='TripletLoss', margin=0.3, loss_weight=2.0))
    assert loss(POINTS, LABELS).item() == pytest.approx(SQRT52 - 1.9, abs=1e-5)
    # L2-normalised: p0 = (0, 0) stays, p1 = (0.6, 0.8), p2 = (0, 1), p3 = (1, 0);
    # d01 = d02 = d03 = 1, d12 = sqrt(0.4), d13 = sqrt(0.8), d23 = sqrt(2)
    # a0: 1 - 1 + 0.3; a1: 1 - sqrt(0.4) + 0.3; a2: sqrt2 - sqrt(0.4) + 0.3;
    # a3: sqrt2 - sqrt(0.8) + 0.3
    expected = (2.2 + 2 * math.sqrt(2) - 2 * math.sqrt(0.4) - math.sqrt(0.8)) / 4
    normalized = TripletLoss(margin=0.3, normalize=True)(POINTS, LABELS)
    assert normalized.item() == pytest.approx(expected, abs=1e-5)
