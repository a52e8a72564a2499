"""GlobalPoolHead: max pooling, Em512, one classifier, normalised 512-d test embedding."""
import math

import pytest
import torch

from mmreidparts.models.heads import GlobalPoolHead
from mmreidparts.structures import ReIDDataSample


def _samples(labels):
    return [ReIDDataSample().set_gt_label(int(y)) for y in labels]


def test_pooling_embedding_logits_and_test_feature():
    torch.manual_seed(0)
    head = GlobalPoolHead(in_channels=16, num_classes=5)
    x = torch.randn(4, 16, 6, 2)
    out = head((x, ))
    assert torch.equal(out['pooled'], x.amax(dim=(2, 3)))  # global max pooling
    assert out['embedding'].shape == (4, 512) and out['logits'].shape == (4, 5)
    assert isinstance(head.embed[1], torch.nn.BatchNorm1d)  # Em = Linear-BN-ReLU
    head.eval()
    results = head.predict((x, ))
    assert results[0].embeddings.shape == (1, 512)
    assert results[0].embedding_names == ('global', )
    assert results[0].visibility.tolist() == [1.0]
    assert results[0].embeddings.norm().item() == pytest.approx(1.0, abs=1e-5)
    raw = head.predict((x, ), normalize=False)
    assert torch.allclose(raw[1].embeddings[0], head((x, ))['embedding'][1])


def test_loss_is_the_cross_entropy_of_the_one_classifier():
    head = GlobalPoolHead(in_channels=8, num_classes=3, embed_dim=4)
    torch.nn.init.zeros_(head.classifier.weight)
    losses = head.loss((torch.randn(2, 8, 3, 2), ), _samples([0, 2]))
    assert set(losses) == {'loss_ce', 'acc_top1'}
    assert losses['loss_ce'].item() == pytest.approx(math.log(3))  # uniform logits
    with pytest.raises(ValueError, match='in_channels'):
        head.loss((torch.randn(2, 6, 3, 2), ), _samples([0, 1]))
    avg = GlobalPoolHead(in_channels=8, num_classes=3, pool='avg')
    x = torch.randn(2, 8, 3, 2)
    assert torch.allclose(avg((x, ))['pooled'], x.mean(dim=(2, 3)))
