"""Part-averaged batch-hard triplet loss on hand-worked 1-D and 2-D examples."""
import math

import pytest
import torch

from mmreidparts.models.losses import TripletLoss
from mmreidparts.models.losses.part_averaged_triplet_loss import (
    PartAveragedTripletLoss,
    part_averaged_distance,
)
from mmreidparts.registry import MODELS

LABELS = torch.tensor([0, 0, 1, 1])
# 2-D points: p0=(0,0), p1=(3,4) identity 0; p2=(0,4), p3=(6,0) identity 1.
POINTS = torch.tensor([[0., 0.], [3., 4.], [0., 4.], [6., 0.]])
SQRT52 = math.sqrt(52.0)
# anchors (margin 0.3): a0 5-4+.3, a1 5-3+.3, a2 sqrt52-3+.3, a3 sqrt52-5+.3
POINTS_LOSS = (1.3 + 2.3 + (SQRT52 - 2.7) + (SQRT52 - 4.7)) / 4

# Two 1-D parts. Part 1: 0, 2 | 3, 10; part 2: 0, 0 | 5, 5 (ids 0, 0 | 1, 1).
PART1 = torch.tensor([[0.], [2.], [3.], [10.]])
PART2 = torch.tensor([[0.], [0.], [5.], [5.]])
TWO_PARTS = torch.stack([PART1, PART2], dim=1)  # [4, 2, 1]


def test_distance_is_mean_of_part_distances():
    # part 1: d01=2 d02=3 d03=10 d12=1 d13=8 d23=7; part 2: d01=0, d23=0, others 5
    expected = torch.tensor([[0.0, 1.0, 4.0, 7.5],
                             [1.0, 0.0, 3.0, 6.5],
                             [4.0, 3.0, 0.0, 3.5],
                             [7.5, 6.5, 3.5, 0.0]])
    dist = part_averaged_distance(TWO_PARTS)
    assert torch.allclose(dist, expected, atol=1e-5)
    assert torch.allclose(dist, dist.t())
    assert (dist >= 0).all()


def test_k1_equals_standard_batch_hard_triplet():
    loss = PartAveragedTripletLoss(margin=0.3)(POINTS[:, None], LABELS)
    assert loss.item() == pytest.approx(POINTS_LOSS, abs=1e-5)
    assert loss.item() == pytest.approx(TripletLoss(margin=0.3)(POINTS, LABELS).item(), abs=1e-6)


def test_identical_copies_equal_standard_batch_hard_triplet():
    copies = POINTS[:, None].expand(4, 5, 2)  # K = 5 identical parts
    loss = PartAveragedTripletLoss(margin=0.3)(copies, LABELS)
    assert loss.item() == pytest.approx(POINTS_LOSS, abs=1e-5)


def test_differs_from_mean_of_per_part_triplets():
    # averaged distances: only anchor a2 violates: d+ = 3.5, d- = min(4, 3) = 3
    # -> 3.5 - 3 + 0.3 = 0.8, mean over 4 anchors = 0.2
    loss = PartAveragedTripletLoss(margin=0.3)(TWO_PARTS, LABELS)
    assert loss.item() == pytest.approx(0.2, abs=1e-5)
    # per part: part 1 -> (0 + 1.3 + 6.3 + 0) / 4 = 1.9; part 2 -> 0; mean 0.95
    per_part = [TripletLoss(margin=0.3)(TWO_PARTS[:, k], LABELS) for k in range(2)]
    assert per_part[0].item() == pytest.approx(1.9, abs=1e-5)
    assert per_part[1].item() == pytest.approx(0.0, abs=1e-6)
    assert loss.item() != pytest.approx(torch.stack(per_part).mean().item(), abs=0.1)


def test_zero_when_every_anchor_is_satisfied_and_permutation_invariant():
    far = torch.tensor([[[0.], [0.]], [[0.1], [0.]], [[9.], [9.]], [[9.], [9.1]]])
    assert PartAveragedTripletLoss(margin=0.3)(far, LABELS).item() == pytest.approx(0.0)
    perm = torch.tensor([2, 0, 3, 1])
    a = PartAveragedTripletLoss(margin=0.3)(TWO_PARTS, LABELS)
    b = PartAveragedTripletLoss(margin=0.3)(TWO_PARTS[perm], LABELS[perm])
    assert a.item() == pytest.approx(b.item(), abs=1e-6)


def test_registry_weight_and_bad_input():
    loss = MODELS.build(dict(type='PartAveragedTripletLoss', margin=0.3, loss_weight=2.0))
    assert loss(TWO_PARTS, LABELS).item() == pytest.approx(0.4, abs=1e-5)
    with pytest.raises(ValueError, match=r'\[N, K, D\]'):
        loss(PART1, LABELS)
    with pytest.raises(ValueError, match='margin'):
        PartAveragedTripletLoss(margin=-1.0)


def test_gradient_reaches_every_part():
    parts = TWO_PARTS.clone().requires_grad_(True)
    PartAveragedTripletLoss(margin=0.3)(parts, LABELS).backward()
    # the violating anchor a2 pulls p3 and pushes p1 in both parts
    assert parts.grad[:, 0].abs().sum() > 0 and parts.grad[:, 1].abs().sum() > 0


# Visibility of the two parts: sample 0 shows part 1 only, sample 2 part 2 only.
VIS = torch.tensor([[1., 0.], [1., 1.], [0., 1.], [1., 1.]])


def test_region_selective_distance_by_hand():
    # shared: (0,1) part 1 -> 2; (0,2) nothing; (0,3) part 1 -> 10; (1,2) part 2 -> 5;
    # (1,3) both -> (8 + 5) / 2; (2,3) part 2 -> 0
    dist = part_averaged_distance(TWO_PARTS, VIS)
    expected = torch.tensor([[0.0, 2.0, 0.0, 10.0],
                             [2.0, 0.0, 5.0, 6.5],
                             [0.0, 5.0, 0.0, 0.0],
                             [10.0, 6.5, 0.0, 0.0]])
    assert torch.allclose(dist, expected, atol=1e-5)
    # all visible: the plain part-averaged distance
    assert torch.allclose(part_averaged_distance(TWO_PARTS, torch.ones(4, 2)),
                          part_averaged_distance(TWO_PARTS), atol=1e-6)


def test_region_selective_triplet_by_hand():
    # margin 6: a0 2 - 10 + 6 < 0; a1 2 - min(5, 6.5) + 6 = 3; a2 0 - 5 + 6 = 1 (the pair
    # (2, 0) shares nothing and is not mined); a3 0 - min(10, 6.5) + 6 < 0
    loss = PartAveragedTripletLoss(margin=6.0)(TWO_PARTS, LABELS, visibility=VIS)
    assert loss.item() == pytest.approx(1.0, abs=1e-5)
    # anchors whose only positive shares no part are skipped: 0 and 1 below; a2: d+ =
    # (7 + 0) / 2, d- = min(3 (part 1), 5 (part 2)) -> 1.5; a3: 3.5 - 5 + 1 < 0
    vis = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [1., 1.]])
    loss = PartAveragedTripletLoss(margin=1.0)(TWO_PARTS, LABELS, visibility=vis)
    assert loss.item() == pytest.approx(0.75, abs=1e-5)


def test_parts_outside_the_shared_set_do_not_matter():
    parts = TWO_PARTS.clone().requires_grad_(True)
    loss_fn = PartAveragedTripletLoss(margin=6.0)
    loss = loss_fn(parts, LABELS, visibility=VIS)
    loss.backward()
    # sample 0's part 2 and sample 2's part 1 are invisible: no gradient, and any value
    assert parts.grad[0, 1].abs().sum() == 0 and parts.grad[2, 0].abs().sum() == 0
    moved = TWO_PARTS.clone()
    moved[0, 1] = 100.0
    moved[2, 0] = -42.0
    assert loss_fn(moved, LABELS, visibility=VIS).item() == pytest.approx(loss.item())
    # zero once every D_an - D_ap >= margin
    far = TWO_PARTS.clone()
    far[2:] += 100.0
    assert loss_fn(far, LABELS, visibility=torch.ones(4, 2)).item() == 0.0


def test_pair_mask_shape_is_checked():
    from mmreidparts.models.losses import batch_hard_triplet
    with pytest.raises(ValueError, match='pair_mask'):
        batch_hard_triplet(torch.zeros(4, 4), LABELS, pair_mask=torch.ones(3, 3, dtype=bool))
