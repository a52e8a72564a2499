"""Reduction and weighting of element-wise losses."""
import pytest
import torch

from mmreidparts.models.losses import reduce_loss, weight_reduce_loss


def test_weight_reduce_loss():
    loss = torch.tensor([1., 2., 3.])
    assert reduce_loss(loss, 'sum').item() == 6.0
    assert weight_reduce_loss(loss, torch.tensor([1., 0., 1.])).item() == pytest.approx(4 / 3)
    assert weight_reduce_loss(loss, avg_factor=2).item() == pytest.approx(3.0)
    assert weight_reduce_loss(torch.zeros(3), avg_factor=0).item() == 0.0
    with pytest.raises(ValueError, match='reduction'):
        reduce_loss(loss, 'avg')
