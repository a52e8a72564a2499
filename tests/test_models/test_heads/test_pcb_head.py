"""PCBHead: six stripes of four rows, per-stripe Em256 and classifier, summed losses."""
import pytest
import torch
import torch.nn.functional as F

from mmreidparts.models.heads import PCBHead
from mmreidparts.structures import ReIDDataSample


def _samples(labels):
    return [ReIDDataSample().set_gt_label(int(y)) for y in labels]


def test_stripes_logits_and_1536d_test_feature():
    torch.manual_seed(0)
    head = PCBHead(in_channels=16, num_classes=7)
    x = torch.randn(3, 16, 24, 8)
    out = head((x, ))
    assert out['stripes'].shape == (3, 6, 16)
    for k in range(6):  # stripe k = rows 4k .. 4k+3, max pooled
        assert torch.equal(out['stripes'][:, k], x[:, :, 4 * k:4 * k + 4].amax(dim=(2, 3)))
    assert len(out['logits']) == 6 and all(lg.shape == (3, 7) for lg in out['logits'])
    head.eval()
    [res] = head.predict((x[:1], ))
    assert res.embeddings.shape == (1, 1536) and res.embedding_names == ('concat', )
    emb = head((x[:1], ))['embeddings'][0]  # [6, 256]
    expected = F.normalize(emb, dim=1).flatten() / 6**0.5  # each stripe normalised
    assert torch.allclose(res.embeddings[0], expected, atol=1e-6)
    assert res.embeddings.norm().item() == pytest.approx(1.0, abs=1e-5)


def test_stripes_as_separate_embeddings():
    head = PCBHead(in_channels=8, num_classes=3, test_embeddings='stripes').eval()
    [res] = head.predict((torch.randn(1, 8, 12, 2), ))
    assert res.embeddings.shape == (6, 256)
    assert res.embedding_names == tuple(f'stripe{k}' for k in range(1, 7))
    assert torch.allclose(res.embeddings.norm(dim=1), torch.ones(6))
    assert res.visibility.tolist() == [1.0] * 6


def test_loss_is_the_sum_of_the_six_batch_mean_cross_entropies():
    torch.manual_seed(1)
    head = PCBHead(in_channels=8, num_classes=4, embed_dim=5)
    x, labels = torch.randn(4, 8, 12, 2), torch.tensor([0, 1, 2, 3])
    losses = head.loss((x, ), _samples(labels))
    out = head((x, ))
    expected = sum(F.cross_entropy(lg, labels) for lg in out['logits'])
    assert losses['loss_ce'].item() == pytest.approx(expected.item(), rel=1e-6)
    assert set(losses) == {'loss_ce', 'acc_top1'}


def test_a_map_height_the_stripes_do_not_divide_names_the_key():
    head = PCBHead(in_channels=8, num_classes=3)
    with pytest.raises(ValueError, match=r'25 rows.*model\.head\.num_stripes=6'):
        head((torch.randn(1, 8, 25, 8), ))
    with pytest.raises(ValueError, match='test_embeddings'):
        PCBHead(in_channels=8, num_classes=3, test_embeddings='parts')
