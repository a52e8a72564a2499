"""Body part attention loss: pixel cross-entropy with label smoothing, mean over pixels."""
import math

import pytest
import torch

from mmreidparts.models.losses.body_part_attention_loss import (
    BodyPartAttentionLoss,
    body_part_attention_loss,
)
from mmreidparts.registry import MODELS

# one image, 1 x 2 pixels, K + 1 = 3 classes, both pixels labelled 1
# pixel 0: logits (0, 0, 0) -> p = 1/3 each; pixel 1: (0, ln 3, 0) -> p = (1/5, 3/5, 1/5)
LOGITS = torch.tensor([[[[0.0, 0.0]], [[0.0, math.log(3.0)]], [[0.0, 0.0]]]])  # [1, 3, 1, 2]
TARGET = torch.tensor([[[1, 1]]])  # [1, 1, 2]


def test_without_smoothing_equals_cross_entropy():
    # (-ln 1/3 - ln 3/5) / 2 = ln 5 / 2
    loss = body_part_attention_loss(LOGITS, TARGET, label_smoothing=0.0)
    assert loss.item() == pytest.approx(math.log(5.0) / 2, abs=1e-6)


def test_with_smoothing_equals_cross_entropy_with_smoothed_target():
    eps = 0.1
    q_true, q_other = 1 - eps + eps / 3, eps / 3
    pixel0 = math.log(3.0)  # uniform prediction: -sum_k q_k ln(1/3) = ln 3
    pixel1 = -(q_true * math.log(3 / 5) + 2 * q_other * math.log(1 / 5))
    loss = BodyPartAttentionLoss(label_smoothing=eps)(LOGITS, TARGET)
    assert loss.item() == pytest.approx((pixel0 + pixel1) / 2, abs=1e-6)


def test_ignored_pixels_are_left_out_of_the_mean():
    logits = torch.cat([LOGITS, torch.tensor([[[[5.0]], [[-3.0]], [[1.0]]]])], dim=3)
    target = torch.tensor([[[1, 1, 255]]])
    loss = body_part_attention_loss(logits, target, label_smoothing=0.0)
    assert loss.item() == pytest.approx(math.log(5.0) / 2, abs=1e-6)
    all_ignored = body_part_attention_loss(logits.requires_grad_(True),
                                           torch.full((1, 1, 3), 255), 0.1)
    assert all_ignored.item() == 0.0
    all_ignored.backward()
    assert torch.isfinite(logits.grad).all()


def test_mean_is_invariant_to_repeating_the_batch():
    single = body_part_attention_loss(LOGITS, TARGET)
    double = body_part_attention_loss(LOGITS.repeat(2, 1, 1, 1), TARGET.repeat(2, 1, 1))
    assert single.item() == pytest.approx(double.item(), abs=1e-6)


def test_registry_weight_and_bad_shapes():
    loss = MODELS.build(dict(type='BodyPartAttentionLoss', label_smoothing=0.0,
                             loss_weight=0.35))
    assert loss(LOGITS, TARGET).item() == pytest.approx(0.35 * math.log(5.0) / 2, abs=1e-6)
    with pytest.raises(ValueError, match='do not match'):
        loss(LOGITS, torch.zeros(1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match='label_smoothing'):
        BodyPartAttentionLoss(label_smoothing=1.0)
