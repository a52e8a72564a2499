"""strip_pool: equal horizontal stripes, max or average pooled."""
import pytest
import torch

from mmreidparts.models.utils import id_classifier, strip_pool


def test_stripes_are_the_max_of_their_rows():
    x = torch.randn(2, 5, 24, 8)
    out = strip_pool(x, 6)
    assert out.shape == (2, 6, 5)
    for k in range(6):
        assert torch.equal(out[:, k], x[:, :, 4 * k:4 * k + 4].amax(dim=(2, 3)))
    avg = strip_pool(x, 3, 'avg')
    assert torch.allclose(avg[:, 2], x[:, :, 16:24].mean(dim=(2, 3)))


def test_strip_pool_refuses_uneven_stripes():
    with pytest.raises(ValueError, match='height 25'):
        strip_pool(torch.zeros(1, 2, 25, 8), 6)
    with pytest.raises(ValueError, match='must be one of'):
        strip_pool(torch.zeros(1, 2, 24, 8), 6, 'gem')


def test_id_classifier_has_a_zero_bias_and_small_weights():
    torch.manual_seed(0)
    fc = id_classifier(256, 1000)
    assert fc.bias is not None and torch.count_nonzero(fc.bias) == 0
    assert fc.weight.std().item() == pytest.approx(0.001, rel=0.05)
