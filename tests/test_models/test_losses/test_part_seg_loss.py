"""Class-balanced pixel cross-entropy of part awareness learning (pal.md 3, 10-5)."""
import pytest
import torch
import torch.nn.functional as F

from mmreidparts.models.losses import PartSegLoss, class_balanced_cross_entropy


def _hand_loop(logits, target, ignore_index=255):
    """mean over the present classes s of mean(CE[label == s]), by an explicit loop."""
    per_pixel = []
    for n in range(target.shape[0]):
        for h in range(target.shape[1]):
            for w in range(target.shape[2]):
                s = int(target[n, h, w])
                if s == ignore_index:
                    continue
                logp = torch.log_softmax(logits[n, :, h, w].double(), dim=0)[s]
                per_pixel.append((s, -logp.item()))
    classes = sorted({s for s, _ in per_pixel})
    means = [sum(v for s, v in per_pixel if s == c) / sum(1 for s, _ in per_pixel if s == c)
             for c in classes]
    return sum(means) / len(means)


def _data(seed=0, classes=8, shape=(2, 6, 4)):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape[0], classes, *shape[1:], generator=gen)
    target = torch.randint(0, classes, shape, generator=gen)
    return logits, target


def test_equals_the_hand_loop_over_present_classes():
    logits, target = _data()
    target[0, :2] = 255  # some ignored pixels
    target[target == 3] = 5  # class 3 absent
    loss = class_balanced_cross_entropy(logits, target)
    assert loss.item() == pytest.approx(_hand_loop(logits, target), rel=1e-6)
    # an absent class is skipped, not counted as a zero term (which would give 7/8 of it)
    present = len(set(target[target != 255].tolist()))
    assert present == 7


def test_single_class_is_the_plain_mean_and_balanced_differs_otherwise():
    logits, _ = _data(1)
    target = torch.full((2, 6, 4), 2)
    plain = F.cross_entropy(logits, target)
    assert class_balanced_cross_entropy(logits, target).item() == pytest.approx(plain.item())
    _, target = _data(1)
    target[:, :5] = 0  # background dominates
    balanced = class_balanced_cross_entropy(logits, target)
    unbalanced = class_balanced_cross_entropy(logits, target, class_balanced=False)
    assert unbalanced.item() == pytest.approx(F.cross_entropy(logits, target).item())
    assert abs(balanced.item() - unbalanced.item()) > 1e-3


def test_duplicated_batch_ignored_pixels_and_bounds():
    logits, target = _data(2)
    loss = class_balanced_cross_entropy(logits, target)
    doubled = class_balanced_cross_entropy(torch.cat([logits, logits]), torch.cat([target,
                                                                                    target]))
    assert doubled.item() == pytest.approx(loss.item(), rel=1e-6)
    ignored = target.clone()
    ignored[1] = 255
    changed = logits.clone()
    changed[1] = 100 * torch.randn_like(changed[1])  # logits of ignored pixels do not count
    assert class_balanced_cross_entropy(changed, ignored).item() == pytest.approx(
        class_balanced_cross_entropy(logits[:1], target[:1]).item(), rel=1e-6)
    assert loss.item() >= 0
    background = class_balanced_cross_entropy(logits, torch.zeros_like(target))
    assert torch.isfinite(background) and background.item() >= 0


def test_no_labelled_pixel_gives_a_zero_with_a_graph_and_bad_ids_are_refused():
    logits = torch.randn(1, 8, 2, 2, requires_grad=True)
    zero = class_balanced_cross_entropy(logits, torch.full((1, 2, 2), 255))
    assert zero.item() == 0.0 and zero.requires_grad
    zero.backward()
    assert torch.count_nonzero(logits.grad) == 0
    with pytest.raises(ValueError, match='label 8 is outside'):
        class_balanced_cross_entropy(logits, torch.full((1, 2, 2), 8))
    with pytest.raises(ValueError, match='do not match'):
        class_balanced_cross_entropy(logits, torch.zeros(1, 3, 2, dtype=torch.long))


def test_module_scales_by_lambda():
    logits, target = _data(3)
    base = class_balanced_cross_entropy(logits, target)
    assert PartSegLoss(loss_weight=5.0)(logits, target).item() == pytest.approx(5 * base.item())
    assert PartSegLoss(loss_weight=0.0)(logits, target).item() == 0.0
    with pytest.raises(ValueError, match='loss_weight'):
        PartSegLoss(loss_weight=-1)
