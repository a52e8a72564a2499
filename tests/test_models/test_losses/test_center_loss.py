"""Center loss on hand-placed centres."""
import pytest
import torch

from mmreidparts.models.losses import CenterLoss
from mmreidparts.registry import MODELS


def test_center_loss_value_and_gradient():
    loss = MODELS.build(dict(type='CenterLoss', num_classes=2, feat_dim=2, loss_weight=0.5))
    assert isinstance(loss, CenterLoss)
    with torch.no_grad():
        loss.centers.copy_(torch.tensor([[0., 0.], [1., 1.]]))
    feats = torch.tensor([[1., 0.], [0., 2.]])
    # |(1,0) - (0,0)|^2 = 1, |(0,2) - (1,1)|^2 = 2 -> mean 1.5, times 0.5
    value = loss(feats, torch.tensor([0, 1]))
    assert value.item() == pytest.approx(0.75)
    value.backward()
    # d/dc0 of 0.5 * (1/2) * |f0 - c0|^2 = -0.5 * (f0 - c0) = (-0.5, 0)
    assert torch.allclose(loss.centers.grad[0], torch.tensor([-0.5, 0.]))


def test_center_loss_label_out_of_range():
    loss = CenterLoss(num_classes=2, feat_dim=2)
    with pytest.raises(ValueError, match=r'\[0, 2\)'):
        loss(torch.zeros(1, 2), torch.tensor([2]))
