"""Label-smoothed cross-entropy on a 3-class example."""
import math

import pytest
import torch

from mmreidparts.models.losses import CrossEntropyLoss, cross_entropy
from mmreidparts.registry import MODELS

# softmax(log [1, 2, 1]) = (1/4, 1/2, 1/4); softmax(log [1, 1, 2]) = (1/4, 1/4, 1/2)
LOGITS = torch.log(torch.tensor([[1., 2., 1.], [1., 1., 2.]]))
LABELS = torch.tensor([1, 0])


def test_label_smoothing_value():
    # targets with e = 0.1 over 3 classes: 0.9 + 0.1/3 = 28/30 on the label, 1/30 elsewhere
    # sample 0: -(28/30 log 1/2 + 2/30 log 1/4) = (28/30 + 4/30) log 2 = 32/30 log 2
    # sample 1: -(28/30 log 1/4 + 1/30 log 1/4 + 1/30 log 1/2) = 59/30 log 2
    per_sample = cross_entropy(LOGITS, LABELS, label_smoothing=0.1, reduction='none')
    assert per_sample.tolist() == pytest.approx([32 / 30 * math.log(2), 59 / 30 * math.log(2)],
                                                abs=1e-6)
    loss = MODELS.build(dict(type='CrossEntropyLoss', label_smoothing=0.1))(LOGITS, LABELS)
    assert loss.item() == pytest.approx(91 / 60 * math.log(2), abs=1e-6)


def test_no_smoothing_weight_and_avg_factor():
    # without smoothing: -log 1/2 and -log 1/4
    loss = CrossEntropyLoss(loss_weight=0.5)(LOGITS, LABELS, reduction_override='sum')
    assert loss.item() == pytest.approx(0.5 * 3 * math.log(2), abs=1e-6)
    loss = CrossEntropyLoss()(LOGITS, LABELS, weight=torch.tensor([1., 0.]), avg_factor=1)
    assert loss.item() == pytest.approx(math.log(2), abs=1e-6)


def test_bad_smoothing_rate():
    with pytest.raises(ValueError, match='label_smoothing'):
        CrossEntropyLoss(label_smoothing=1.0)
