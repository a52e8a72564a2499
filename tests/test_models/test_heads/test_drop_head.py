"""DROP head: decoupled maps, position only in parsing, WAMP, visibility, losses, contract."""
import pytest
import torch
import torch.nn.functional as F

from mmreidparts.evaluation.functional.part_distance import part_distance
from mmreidparts.models.heads.drop_head import DROPHead
from mmreidparts.models.losses import part_compactness_triplet
from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample
from mmreidparts.utils import register_all_modules

register_all_modules()
CHANNELS = (4, 6, 8, 10)


def make_head(**kwargs) -> DROPHead:
    cfg = dict(type='DROPHead', in_channels=CHANNELS, num_classes=3, num_parts=3,
               part_scheme='bpbreid3', parsing_channels=5, embed_dim=4,
               part_triplet_loss=dict(type='PartCompactnessTripletLoss', bank_size=8))
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def stages(num: int = 4, seed: int = 0, size=(16, 8)):
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(num, c, size[0] >> i, size[1] >> i, generator=gen)
                 for i, c in enumerate(CHANNELS))


def make_samples(num: int = 4, ids=(0, 0, 1, 1), high: int = 4, size=(64, 32)):
    gen = torch.Generator().manual_seed(1)
    samples = []
    for i in range(num):
        s = ReIDDataSample().set_gt_label(ids[i % len(ids)])
        s.set_gt_part_map(torch.randint(0, high, size, generator=gen))
        samples.append(s)
    return samples


def _perturb(module):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p))


# ------------------------------------------------------------------ the two maps
def test_pooling_the_pieces_of_p_reid_equals_pooling_p_reid():
    head = make_head()
    xs = list(stages())
    masks = torch.rand(4, 3, 16, 8)
    gap, pooled = head.pool(head.reid_maps(xs), masks)
    reid = head.reid_map(xs)
    assert torch.allclose(gap, reid.mean(dim=(2, 3)), atol=1e-5)
    assert torch.allclose(pooled, head.wamp_pool(reid, masks), atol=1e-5)


def test_reid_map_is_s1_with_the_upsampled_stages():
    head = make_head()
    xs = stages()
    reid = head.reid_map(list(xs))
    assert reid.shape == (4, sum(CHANNELS), 16, 8)
    assert torch.equal(reid[:, :4], xs[0])  # the first channels are S1 exactly
    last = make_head(reid_map='last').reid_map(list(xs))
    assert torch.allclose(last, F.interpolate(xs[3], size=(16, 8), mode='bilinear',
                                              align_corners=True), atol=1e-6)


def test_position_information_never_reaches_p_reid_or_the_global_embedding():
    head = make_head().eval()
    xs = stages()
    with torch.no_grad():
        before = head(xs)
        reid_before = head.reid_map(list(xs))
        _perturb(head.position_encoder)
        after = head(xs)
        reid_after = head.reid_map(list(xs))
    assert not torch.allclose(before['part_logits'], after['part_logits'])  # parsing changes
    assert torch.equal(reid_before, reid_after)
    assert torch.equal(before['global'], after['global'])
    assert torch.equal(before['bn_global'], after['bn_global'])
    with torch.no_grad():  # nor on any other parsing-branch parameter
        _perturb(head.dpu)
        _perturb(head.parsing_head)
        again = head(xs)
    assert torch.equal(before['global'], again['global'])
    # and no gradient of g reaches the parsing branch (GAP shares the pooling product with
    # the masks, whose rows get an exactly zero gradient)
    head.train()
    out = head(stages())
    out['global'].sum().backward()
    for module in (head.position_encoder, head.dpu, head.parsing_head):
        assert all(p.grad is None or not p.grad.any() for p in module.parameters())


def test_without_position_encoding_there_is_no_ppe_and_2d_is_a_switch():
    assert make_head(position_encoding=None).position_encoder is None
    assert make_head(position_encoding='2d').position_encoder.mode == '2d'
    with pytest.raises(ValueError, match='position_encoding'):
        make_head(position_encoding='3d')


def test_parsing_maps_are_probabilities_and_foreground_is_their_max():
    out = make_head().eval()(stages())
    maps = out['part_maps']
    assert maps.shape == (4, 4, 16, 8)  # [N, K+1, h, w], background first
    assert torch.allclose(maps.sum(dim=1), torch.ones(4, 16, 8), atol=1e-6)
    assert torch.equal(out['foreground_map'], maps[:, 1:].amax(dim=1))
    assert (out['foreground_map'][:, None] >= maps[:, 1:]).all()
    assert out['foreground_map'].min() >= 0 and out['foreground_map'].max() <= 1


# ------------------------------------------------------------------ WAMP
def test_wamp_hand_values():
    head = make_head()
    x = torch.rand(2, 3, 4, 2)  # non-negative, as P_reid after ReLU
    ones = torch.ones(2, 1, 4, 2)
    avg_only = make_head(wamp='avg')
    assert torch.allclose(avg_only.wamp_pool(x, ones)[:, 0], x.mean(dim=(2, 3)))  # GAP
    # sum mode with a mask of ones: GAP + global max
    assert torch.allclose(head.wamp_pool(x, ones)[:, 0], x.mean(dim=(2, 3)) + x.amax(dim=(2, 3)))
    one_hot = torch.zeros(2, 1, 4, 2)
    one_hot[:, 0, 2, 1] = 1.0
    pixel = x[:, :, 2, 1]
    assert torch.allclose(avg_only.wamp_pool(x, one_hot)[:, 0], pixel)  # avg = the pixel
    assert torch.allclose(head.wamp_pool(x, one_hot)[:, 0], 2 * pixel)  # avg + max
    cat = make_head(wamp='concat').wamp_pool(x, one_hot)
    assert torch.allclose(cat[:, 0], torch.cat([pixel, pixel], dim=1))
    zero = head.wamp_pool(x, torch.zeros(2, 1, 4, 2))
    assert torch.isfinite(zero).all() and torch.equal(zero, torch.zeros_like(zero))
    masks = torch.rand(2, 3, 4, 2)
    perm = torch.tensor([2, 0, 1])
    assert torch.allclose(head.wamp_pool(x, masks[:, perm]), head.wamp_pool(x, masks)[:, perm])


def test_embeddings_shapes():
    out = make_head().eval()(stages())
    assert out['parts'].shape == (4, 3, 4) and out['concat'].shape == (4, 12)
    assert out['global'].shape == out['foreground'].shape == (4, 4)
    assert torch.equal(out['concat'], out['parts'].flatten(1))


# ------------------------------------------------------------------ visibility
def test_visibility_is_the_strict_04_rule_and_foreground_is_always_visible():
    head = make_head().eval()
    with torch.no_grad():
        head.parsing_head.conv.weight.zero_()
        # background, part 1, 2, 3 logits: probs ~ (.., e^b / sum)
        head.parsing_head.conv.bias.copy_(torch.tensor([0.0, 1.0, -5.0, 0.2]))
    out = head(stages())
    p = torch.tensor([0.0, 1.0, -5.0, 0.2]).softmax(0)
    assert p[1] > 0.4 > p[3]
    assert out['visibility'].dtype == torch.bool
    assert out['visibility'].tolist() == [[True, False, False]] * 4
    _, vis = head.predict_tensors(stages())
    assert vis.tolist() == [[1.0, 1.0, 0.0, 0.0]] * 4


# ------------------------------------------------------------------ losses
def test_loss_terms_and_label_visibility():
    head = make_head()
    samples = make_samples()
    losses = head.loss(stages(), samples)
    assert set(losses) == {'loss_hp', 'loss_id_global', 'loss_id_foreground', 'loss_id_concat',
                           'loss_tri_parts'}
    assert all(torch.isfinite(v) for v in losses.values())
    # label-derived visibility: part k visible iff a pixel of the resized labels has id k
    labels = torch.zeros(1, 64, 32, dtype=torch.long)
    labels[0, :8, :8] = 2  # one 8x8 block of part 2 -> 2x2 cells at the 16x8 parsing size
    target = head.part_targets([ReIDDataSample().set_gt_part_map(labels[0])], (16, 8),
                               torch.device('cpu'))
    vis = head.training_visibility({}, target)
    assert vis.tolist() == [[False, True, False]]


def test_train_visibility_switches_reach_the_part_triplet_loss():
    for mode in ('label', 'pred', 'none'):
        head = make_head(train_visibility=mode,
                         part_triplet_loss=dict(type='PartCompactnessTripletLoss', bank_size=None))
        xs = stages()
        samples = make_samples()
        out = head(xs)
        target = head.part_targets(samples, (16, 8), torch.device('cpu'))
        vis = head.training_visibility(out, target)
        ids = torch.tensor([0, 0, 1, 1])
        loss = head.loss(xs, samples)['loss_tri_parts']
        ref = part_compactness_triplet(out['parts'], ids, vis)
        assert loss.item() == pytest.approx(ref.item(), abs=1e-5), mode


def test_table5_triplet_variants_are_config_switches():
    for cfg in (dict(type='PartAveragedTripletLoss', margin=0.3), dict(type='PartHCTLoss')):
        head = make_head(part_triplet_loss=cfg)
        assert torch.isfinite(head.loss(stages(), make_samples())['loss_tri_parts'])


def test_the_bank_never_changes_in_test_mode():
    head = make_head()
    head.loss(stages(), make_samples())  # one training step fills half the bank
    bank = head.part_triplet_loss.bank
    state = {k: v.clone() for k, v in bank.named_buffers()}
    head.eval()
    with torch.no_grad():
        head(stages(seed=3))
        head.predict_tensors(stages(seed=4))
        head.predict(stages(seed=5), make_samples())
        head.loss(stages(seed=6), make_samples())
    for key, value in bank.named_buffers():
        assert torch.equal(value, state[key]), key
    head.train()
    head.loss(stages(seed=7), make_samples())
    assert int(bank.filled.sum()) == 8  # training mode pushes again


def test_the_bank_is_not_in_the_state_dict():
    assert not any('bank' in k for k in make_head().state_dict())


# ------------------------------------------------------------------ bad input
def test_no_part_labels_stops_naming_the_key():
    samples = make_samples()
    for s in samples:
        del s.gt_part_map
    with pytest.raises(KeyError, match='gt_part_map.*train_dataloader.dataset.part_labels'):
        make_head().loss(stages(), samples)


def test_labels_of_another_k_stop_naming_num_parts():
    with pytest.raises(ValueError, match=r'id 8 .*K=3 parts \(num_parts'):
        make_head().loss(stages(), make_samples(high=9))
    with pytest.raises(ValueError, match="num_parts=5 but part scheme 'bpbreid3' has K=3"):
        make_head(num_parts=5)


def test_bank_size_that_does_not_fit_the_batch_stops_naming_the_key():
    head = make_head(part_triplet_loss=dict(type='PartCompactnessTripletLoss', bank_size=6))
    with pytest.raises(ValueError, match='part_triplet_loss.bank_size=6 does not fit the batch '
                                         'of 4'):
        head.loss(stages(), make_samples())
    with pytest.raises(ValueError, match='part_triplet_loss.num_parts=8 but the head has'):
        make_head(part_triplet_loss=dict(type='PartCompactnessTripletLoss', num_parts=8))


def test_wrong_stages_and_switches_stop():
    with pytest.raises(ValueError, match=r'c_i = \(4, 6, 8, 10\)'):
        make_head()(stages()[:3] + (torch.randn(4, 3, 2, 1), ))
    with pytest.raises(ValueError, match='in_indices'):
        make_head(in_indices=(0, 1, 2, 5))(stages())
    for key, value in (('reid_map', 'sum'), ('wamp', 'gem'), ('train_visibility', 'all'),
                       ('test_embeddings', ('parts', 'parts'))):
        with pytest.raises(ValueError, match=key):
            make_head(**{key: value})


# ------------------------------------------------------------------ test contract
def test_predict_contract_and_matching():
    head = make_head().eval()
    xs = stages()
    with torch.no_grad():
        emb, vis = head.predict_tensors(xs)
        out = head(xs)
        samples = head.predict(xs, [ReIDDataSample() for _ in range(4)])
    assert head.embedding_names == ('foreground', 'head', 'torso_arms', 'legs_feet')
    assert emb.shape == (4, 4, 4) and vis.shape == (4, 4)
    assert torch.allclose(emb.norm(dim=2), torch.ones(4, 4), atol=1e-6)  # L2-normalised
    assert torch.allclose(emb[:, 0], F.normalize(out['bn_foreground'], dim=1))
    assert torch.allclose(emb[:, 1:], F.normalize(out['parts'], dim=2))
    for i, s in enumerate(samples):
        assert torch.allclose(s.embeddings, emb[i]) and tuple(s.embedding_names) == \
            head.embedding_names
    # matching: symmetric, D(x, x) = 0; with all parts visible the mean of the distances
    ones = torch.ones(4, 4)
    dist = part_distance(emb, ones, emb, ones)
    assert torch.allclose(dist, dist.t(), atol=1e-6)
    # (the Gram expansion |a|^2 + |b|^2 - 2ab leaves ~1e-8 at a = b, ~1e-4 after the root)
    assert torch.allclose(dist.diag(), torch.zeros(4), atol=5e-4)
    ref = (emb[:, None] - emb[None]).norm(dim=3).mean(dim=2)
    assert torch.allclose(dist, ref, atol=5e-4)  # the same Gram rounding
    # a part that is not shared does not change D
    hidden = ones.clone()
    hidden[0, 3] = 0
    moved = emb.clone()
    moved[0, 3] = -moved[0, 3]
    assert torch.allclose(part_distance(moved, hidden, emb, ones)[0],
                          part_distance(emb, hidden, emb, ones)[0])


def test_test_embedding_combinations():
    head = make_head(test_embeddings=('global', 'foreground', 'parts')).eval()
    emb, vis = head.predict_tensors(stages())
    assert head.embedding_names[:2] == ('global', 'foreground') and emb.shape[1] == 5
    assert vis[:, :2].eq(1).all()
    parts_only = make_head(test_embeddings=('parts', )).eval()
    assert parts_only.embedding_names == ('head', 'torso_arms', 'legs_feet')


def test_each_bnneck_moves_its_statistics_once_per_training_step():
    head = make_head()
    head.loss(stages(), make_samples())
    for neck in (head.global_bnneck, head.foreground_bnneck, head.concat_bnneck):
        assert int(neck.bn.num_batches_tracked) == 1


def test_mask_gradient_switch():
    for flag in (True, False):
        head = make_head(mask_gradient=flag)
        out = head(stages())
        out['parts'].sum().backward()  # a ReID-side quantity
        reached = head.parsing_head.conv.weight.grad
        assert (reached is not None and bool(reached.any())) == flag
