"""DROP's losses: PCT and its memory bank, part-level HCT, the spatially smoothed parsing loss."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmreidparts.models.losses import (
    CrossEntropyLoss,
    PartAveragedTripletLoss,
    PartCompactnessTripletLoss,
    PartHCTLoss,
    PartsMemoryBank,
    SmoothedParsingLoss,
    TripletLoss,
    part_compactness_triplet,
    part_hct,
    spatial_smoothness,
)


def _pct(k=2, d=1, bank=None, **kw):
    return PartCompactnessTripletLoss(num_parts=k, embed_dim=d, bank_size=bank, **kw)


# ------------------------------------------------------------------ PCT
def test_pct_hand_worked_value():
    # 4 samples, ids (0, 0, 1, 1), K=2 parts, D=1
    parts = torch.tensor([[[0.0], [0.0]], [[1.0], [3.0]], [[2.0], [2.0]], [[2.0], [4.0]]])
    labels = torch.tensor([0, 0, 1, 1])
    # part-averaged distances: d01 = (1+3)/2 = 2, d02 = 2, d03 = 3, d12 = (1+1)/2 = 1,
    # d13 = (1+1)/2 = 1, d23 = (0+2)/2 = 1
    # anchor 0: ap 2, an min(2, 3) = 2 -> 0.3; anchor 1: ap 2, an 1 -> 1.3
    # anchor 2: ap 1, an min(2, 1) = 1 -> 0.3; anchor 3: ap 1, an min(3, 1) = 1 -> 0.3
    expected = (0.3 + 1.3 + 0.3 + 0.3) / 4
    assert _pct()(parts, labels).item() == pytest.approx(expected, abs=1e-5)
    # part 2 of sample 1 hidden: d01 = 1, d12 = 1, d13 = 1 (part 1 only)
    vis = torch.ones(4, 2, dtype=torch.bool)
    vis[1, 1] = False
    # anchor 0: ap 1, an 2 -> 0; anchor 1: ap 1, an 1 -> 0.3; anchor 2: ap 1, an min(2,1) -> .3
    # anchor 3: ap 1, an min(3, 1) = 1 -> 0.3
    assert _pct()(parts, labels, visibility=vis).item() == pytest.approx(0.9 / 4, abs=1e-5)


def test_pct_with_one_batch_and_all_parts_visible_is_the_part_averaged_triplet():
    gen = torch.Generator().manual_seed(0)
    parts = torch.randn(12, 4, 6, generator=gen)
    labels = torch.arange(6).repeat_interleave(2)
    ref = PartAveragedTripletLoss(margin=0.3)(parts, labels)
    assert _pct(4, 6)(parts, labels).item() == pytest.approx(ref.item(), abs=1e-6)
    ones = torch.ones(12, 4, dtype=torch.bool)
    assert _pct(4, 6)(parts, labels, visibility=ones).item() == pytest.approx(ref.item(),
                                                                              abs=1e-6)


def test_pct_with_one_part_is_the_batch_hard_triplet():
    gen = torch.Generator().manual_seed(1)
    feats = torch.randn(10, 5, generator=gen)
    labels = torch.arange(5).repeat_interleave(2)
    ref = TripletLoss(margin=0.3)(feats, labels)
    assert _pct(1, 5)(feats[:, None], labels).item() == pytest.approx(ref.item(), abs=1e-6)


def test_pct_is_non_negative_zero_when_separated_and_permutation_invariant():
    gen = torch.Generator().manual_seed(2)
    parts = torch.randn(8, 3, 4, generator=gen)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    vis = torch.rand(8, 3, generator=gen) > 0.3
    loss = part_compactness_triplet(parts, labels, vis)
    assert loss >= 0
    perm = torch.randperm(8, generator=gen)
    assert part_compactness_triplet(parts[perm], labels[perm], vis[perm]).item() == \
        pytest.approx(loss.item(), abs=1e-6)
    # identities 10 apart, samples of one identity 0.1 apart: every d_an - d_ap >= 0.3
    tight = labels[:, None, None].float() * 10 + 0.1 * torch.arange(8)[:, None, None] % 2
    assert part_compactness_triplet(tight.expand(8, 3, 4), labels).item() == 0.0


def test_pct_anchor_whose_positives_share_no_visible_part_contributes_nothing():
    parts = torch.tensor([[[0.0], [0.0]], [[5.0], [5.0]], [[1.0], [1.0]], [[9.0], [9.0]]])
    labels = torch.tensor([0, 0, 1, 1])
    vis = torch.tensor([[True, False], [False, True], [True, True], [True, True]])
    # 0 and 1 share no visible part: anchors 0 and 1 have no positive; anchors 2, 3:
    # d23 = 8, d20 = 1, d21 = 4, d30 = 9, d31 = 4 -> 8 - 1 + .3 = 7.3 and 8 - 4 + .3 = 4.3
    assert part_compactness_triplet(parts, labels, vis).item() == pytest.approx(5.8, abs=1e-5)
    # with no valid anchor at all the loss is a zero that keeps the graph
    lonely = parts.clone().requires_grad_(True)
    none = part_compactness_triplet(lonely[:2], labels[:2], vis[:2])
    assert none.item() == 0.0 and none.requires_grad


def test_pct_batch_anchor_mode_mines_only_from_current_anchors():
    parts = torch.tensor([[[0.0]], [[1.0]], [[0.5]], [[3.0]]])
    labels = torch.tensor([0, 1, 0, 1])
    # anchors 0 and 1 only (the first two rows): anchor 0: ap d02 = .5, an d01 = 1 -> 0;
    # anchor 1: ap d13 = 2, an min(d10 = 1, d12 = .5) = .5 -> 1.8
    out = part_compactness_triplet(parts, labels, num_anchors=2)
    assert out.item() == pytest.approx(1.8 / 2, abs=1e-6)


def test_memory_bank_fifo_and_capacity():
    bank = PartsMemoryBank(size=6, num_parts=1, dim=1)
    for step in range(4):  # M = 3 batches of 2, then one more push
        feats = torch.full((2, 1, 1), float(step))
        bank.push(feats, torch.tensor([step, step]), torch.ones(2, 1, dtype=torch.bool))
        assert int(bank.filled.sum()) == min(2 * (step + 1), 6)
    feats, labels, _ = bank.entries()
    assert sorted(labels.tolist()) == [1, 1, 2, 2, 3, 3]  # the first batch is gone
    assert not feats.requires_grad


def test_pct_gradient_reaches_only_the_current_batch_and_the_bank_fills():
    loss_fn = _pct(2, 3, bank=8)
    gen = torch.Generator().manual_seed(3)
    labels = torch.tensor([0, 0, 1, 1])
    first = torch.randn(4, 2, 3, generator=gen, requires_grad=True)
    loss_fn(first, labels).backward()
    current = torch.randn(4, 2, 3, generator=gen, requires_grad=True)
    loss = loss_fn(current, labels + 2)
    loss.backward()
    assert current.grad.abs().sum() > 0
    assert not loss_fn.bank.feats.requires_grad
    # the second step's loss is over both batches (bank entries of ids 0, 1 are negatives)
    both = torch.cat([current.detach(), first.detach()])
    ref = part_compactness_triplet(both, torch.cat([labels + 2, labels]))
    assert loss.item() == pytest.approx(ref.item(), abs=1e-6)


def test_pct_bank_is_never_touched_in_eval_mode():
    loss_fn = _pct(2, 3, bank=8)
    labels = torch.tensor([0, 0, 1, 1])
    loss_fn(torch.randn(4, 2, 3), labels)
    state = {k: v.clone() for k, v in loss_fn.bank.named_buffers()}
    loss_fn.eval()
    batch = torch.randn(4, 2, 3)
    assert loss_fn(batch, labels).item() == pytest.approx(
        part_compactness_triplet(batch, labels, torch.ones(4, 2, dtype=torch.bool)).item())
    for key, value in loss_fn.bank.named_buffers():
        assert torch.equal(value, state[key]), key


def test_pct_bad_bank_size_names_the_key():
    with pytest.raises(ValueError, match='part_triplet_loss.bank_size=10 does not fit the batch '
                                         'of 4'):
        _pct(2, 3, bank=10)(torch.randn(4, 2, 3), torch.tensor([0, 0, 1, 1]))
    with pytest.raises(ValueError, match='bank_size=2 does not fit the batch of 4'):
        _pct(2, 3, bank=2)(torch.randn(4, 2, 3), torch.tensor([0, 0, 1, 1]))
    with pytest.raises(ValueError, match='bank_size must be a positive int'):
        _pct(2, 3, bank=0)
    with pytest.raises(ValueError, match=r'\[B, 2, 3\]'):
        _pct(2, 3)(torch.randn(4, 3, 3), torch.tensor([0, 0, 1, 1]))
    with pytest.raises(ValueError, match='anchor_mode'):
        _pct(anchor_mode='bank')


# ------------------------------------------------------------------ HCT
def test_part_hct_hand_worked_value():
    # K=1, D=1: id 0 at {0, 2} (centre 1), id 1 at {5, 7} (centre 6)
    parts = torch.tensor([[[0.0]], [[2.0]], [[5.0]], [[7.0]]])
    labels = torch.tensor([0, 0, 1, 1])
    # each id: max distance to its centre 1, nearest other centre 5 -> [1 - 5 + .3]_+ = 0
    assert part_hct(parts, labels).item() == 0.0
    close = torch.tensor([[[0.0]], [[2.0]], [[1.5]], [[2.5]]])  # centres 1 and 2
    # id 0: 1 - 1 + .3 = .3; id 1: .5 - 1 + .3 = -.2 -> 0; mean .15
    assert PartHCTLoss()(close, labels).item() == pytest.approx(0.15, abs=1e-6)
    # averaged over parts: a second, separated part adds 0 -> mean .075
    two = torch.cat([close, parts], dim=1)
    assert PartHCTLoss()(two, labels).item() == pytest.approx(0.075, abs=1e-6)
    assert part_hct(parts, torch.zeros(4, dtype=torch.long)).item() == 0.0  # one identity


# ------------------------------------------------------------------ parsing loss
def test_parsing_loss_without_smoothing_is_label_smoothed_cross_entropy():
    gen = torch.Generator().manual_seed(4)
    logits = torch.randn(2, 4, 5, 3, generator=gen)
    target = torch.randint(0, 4, (2, 5, 3), generator=gen)
    loss = SmoothedParsingLoss(gamma=0.0, loss_weight=1.0)(logits, target)
    ref = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, target)
    assert loss.item() == pytest.approx(ref.item(), abs=1e-6)
    # lambda = 0.4 scales the whole loss
    assert SmoothedParsingLoss(gamma=0.0)(logits, target).item() == pytest.approx(
        0.4 * ref.item(), abs=1e-6)


def test_smoothness_term_hand_values():
    constant = torch.full((2, 3, 4, 4), 1 / 3)
    assert spatial_smoothness(constant).item() == 0.0
    # one image, 2 classes, a 1x2 map: p = (1, 0) | (0, 1): |0-1| + |1-0| = 2 over 2 pixels
    probs = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])
    assert spatial_smoothness(probs).item() == pytest.approx(1.0)
    gen = torch.Generator().manual_seed(5)
    assert spatial_smoothness(torch.rand(2, 3, 4, 4, generator=gen).softmax(1)) > 0
    # the loss: CE + gamma * smoothness of softmax(logits)
    logits = torch.tensor([[[[2.0, -1.0]], [[0.0, 1.0]]]])
    target = torch.tensor([[[0, 1]]])
    p = logits.softmax(1)
    tv = 2 * (p[0, 0, 0, 0] - p[0, 0, 0, 1]).abs() / 2
    ce = F.cross_entropy(logits, target, label_smoothing=0.1)
    got = SmoothedParsingLoss(gamma=0.5, loss_weight=1.0)(logits, target)
    assert got.item() == pytest.approx((ce + 0.5 * tv).item(), abs=1e-6)


def test_id_loss_smoothed_targets_and_plain_ce():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    labels = torch.tensor([0])
    logp = logits.log_softmax(1)[0]
    eps = 0.1
    q = torch.tensor([1 - eps + eps / 3, eps / 3, eps / 3])
    assert q.sum().item() == pytest.approx(1.0)
    smoothed = CrossEntropyLoss(label_smoothing=eps)(logits, labels)
    assert smoothed.item() == pytest.approx(-(q * logp).sum().item(), abs=1e-6)
    plain = CrossEntropyLoss(label_smoothing=0.0)(logits, labels)
    assert plain.item() == pytest.approx(-logp[0].item(), abs=1e-6)
    assert math.isfinite(plain.item())
