"""MGNHead: three branches, 3 global + 5 stripe features, CE mean, triplet mean."""
import pytest
import torch
import torch.nn.functional as F

from mmreidparts.models.heads import MGNHead
from mmreidparts.models.losses import batch_hard_triplet, pairwise_euclidean
from mmreidparts.structures import ReIDDataSample

C = 16


def _samples(labels):
    return [ReIDDataSample().set_gt_label(int(y)) for y in labels]


def _maps(num=4, height=24, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(num, C, height, 8, generator=gen) for _ in range(3))


def test_eight_features_eight_logits_and_a_2048d_test_feature():
    torch.manual_seed(0)
    head = MGNHead(in_channels=C, num_classes=6)
    maps = _maps()
    out = head(maps)
    assert out['globals'].shape == (4, 3, 256) and out['stripes'].shape == (4, 5, 256)
    assert len(out['logits']) == 8 and all(lg.shape == (4, 6) for lg in out['logits'])
    # f^j = FC256 of the global max pooling of branch j
    for j in range(3):
        expected = head.global_embeds[j](maps[j].amax(dim=(2, 3)))
        assert torch.allclose(out['globals'][:, j], expected)
    # branch 2: 2 stripes of 12 rows; branch 3: 3 stripes of 8 rows
    assert torch.allclose(out['stripes'][:, 0],
                          head.stripe_embeds[0](maps[1][:, :, :12].amax(dim=(2, 3))))
    assert torch.allclose(out['stripes'][:, 4],
                          head.stripe_embeds[4](maps[2][:, :, 16:].amax(dim=(2, 3))))
    head.eval()
    [res] = head.predict(tuple(m[:1] for m in maps))
    assert res.embeddings.shape == (1, 2048) and res.embedding_names == ('concat', )
    raw = torch.cat([head(maps)['globals'][0], head(maps)['stripes'][0]]).flatten()
    assert torch.allclose(res.embeddings[0], F.normalize(raw, dim=0), atol=1e-6)


def test_losses_are_the_means_of_the_ces_and_of_the_branch_triplets():
    torch.manual_seed(2)
    head = MGNHead(in_channels=C, num_classes=4)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])  # P x K = 4 x 2
    maps = _maps(8, seed=3)
    losses = head.loss(maps, _samples(labels))
    out = head(maps)
    ce = sum(F.cross_entropy(lg, labels) for lg in out['logits']) / 8
    assert losses['loss_ce'].item() == pytest.approx(ce.item(), rel=1e-5)
    tri = []
    for j in range(3):
        dist = pairwise_euclidean(out['globals'][:, j], out['globals'][:, j])
        loss, valid = batch_hard_triplet(dist, labels, margin=0.1)
        assert valid.item() == 8  # one triplet per anchor
        tri.append(loss)
    assert losses['loss_tri'].item() == pytest.approx((sum(tri) / 3).item(), rel=1e-5)
    assert set(losses) == {'loss_ce', 'loss_tri', 'acc_top1'}


def test_release_layout_and_parts_output():
    head = MGNHead(in_channels=C, num_classes=5, global_embedding='em_fc',
                   global_classifier='separate', global_cls_dim=32,
                   test_embeddings='parts').eval()
    assert isinstance(head.global_embeds[0][1], torch.nn.BatchNorm1d)
    assert head.global_cls_embeds[0][0].out_features == 32
    assert head.global_classifiers[0].in_features == 32
    [res] = head.predict(tuple(m[:1] for m in _maps()))
    assert res.embeddings.shape == (8, 256)
    assert res.embedding_names == ('b1_global', 'b2_global', 'b3_global', 'b2_stripe1',
                                   'b2_stripe2', 'b3_stripe1', 'b3_stripe2', 'b3_stripe3')
    assert torch.allclose(res.embeddings.norm(dim=1), torch.ones(8))


def test_bad_maps_and_options_are_refused():
    head = MGNHead(in_channels=C, num_classes=5)
    with pytest.raises(ValueError, match='branch_stripes'):
        head(_maps(height=20))  # 20 rows: no 3 equal stripes
    with pytest.raises(ValueError, match='MultiBranchBackbone'):
        head(_maps()[:1])
    with pytest.raises(ValueError, match='global_classifier'):
        MGNHead(in_channels=C, num_classes=5, global_classifier='both')


def test_batch_hard_triplet_of_mgn_against_a_brute_force_loop():
    gen = torch.Generator().manual_seed(5)
    feats = torch.randn(8, 4, generator=gen)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    loss, valid = batch_hard_triplet(pairwise_euclidean(feats, feats), labels, margin=0.1)
    terms = []
    for a in range(8):
        pos = max((feats[a] - feats[p]).norm() for p in range(8)
                  if p != a and labels[p] == labels[a])
        neg = min((feats[a] - feats[n]).norm() for n in range(8) if labels[n] != labels[a])
        terms.append(max(0.0, (pos - neg).item() + 0.1))
    assert valid.item() == 8
    assert loss.item() == pytest.approx(sum(terms) / 8, rel=1e-5)
    # identities 1 apart on a line, images of one identity 0.01 apart: d_an - d_ap >= 0.1
    spread = torch.tensor([[0.0], [0.01], [1.0], [1.01], [2.0], [2.01], [3.0], [3.01]])
    zero, _ = batch_hard_triplet(pairwise_euclidean(spread, spread), labels, margin=0.1)
    assert zero.item() == 0.0
