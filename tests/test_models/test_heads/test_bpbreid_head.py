"""BPBreID head: pooling, attention maps, visibility, label resizing, GiLt losses, predict."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmreidparts.models.heads.bpbreid_head import BPBreIDHead
from mmreidparts.models.losses.part_averaged_triplet_loss import PartAveragedTripletLoss
from mmreidparts.models.utils import (
    masked_average_pool,
    part_visibility,
    pool_by_masks,
    resize_part_labels,
    weighted_average_pool,
)
from mmreidparts.registry import MODELS
from mmreidparts.structures import ReIDDataSample, get_part_scheme

C, HF, WF = 6, 4, 2


def make_head(**kwargs) -> BPBreIDHead:
    cfg = dict(type='BPBreIDHead', in_channels=C, num_classes=3, num_parts=3,
               part_scheme='bpbreid3', dim_reduce=4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def make_samples(num: int = 4, size=(16, 8), part_map=True):
    torch.manual_seed(1)
    samples = []
    for i in range(num):
        s = ReIDDataSample().set_gt_label(i // 2)
        if part_map:
            s.set_gt_part_map(torch.randint(0, 4, size))
        samples.append(s)
    return samples


def feats(num: int = 4):
    torch.manual_seed(0)
    return (torch.randn(num, C, HF, WF), )


# ---------------------------------------------------------------- pooling


def test_gwap_of_one_hot_mask_picks_that_pixel():
    x = torch.randn(2, C, HF, WF)
    mask = torch.zeros(2, 1, HF, WF)
    mask[0, 0, 1, 1] = 1.0
    mask[1, 0, 3, 0] = 0.2  # any positive weight on a single pixel
    out = weighted_average_pool(x, mask)  # [2, 1, C]
    assert torch.allclose(out[0, 0], x[0, :, 1, 1])
    assert torch.allclose(out[1, 0], x[1, :, 3, 0])


def test_gwap_constant_mask_is_gap_and_scale_invariant():
    x = torch.randn(2, C, HF, WF)
    masks = torch.rand(2, 2, HF, WF)
    masks[:, 0] = 0.3
    out = weighted_average_pool(x, masks)
    assert torch.allclose(out[:, 0], x.mean(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(weighted_average_pool(x, 7.5 * masks), out, atol=1e-5)


def test_gwap_zero_mask_is_finite():
    x = torch.randn(1, C, HF, WF)
    out = weighted_average_pool(x, torch.zeros(1, 1, HF, WF))
    assert torch.isfinite(out).all() and (out == 0).all()


def test_masked_gap_divides_by_all_pixels():
    x = torch.ones(1, C, HF, WF)
    mask = torch.zeros(1, 1, HF, WF)
    mask[0, 0, :2] = 1.0  # 4 of 8 pixels
    assert torch.allclose(masked_average_pool(x, mask), torch.full((1, 1, C), 0.5))
    assert torch.allclose(weighted_average_pool(x, mask), torch.ones(1, 1, C))


# ---------------------------------------------------------------- visibility


def test_visibility_threshold_is_strict():
    maps = torch.zeros(1, 3, 1, 2)
    maps[0, :, 0, 0] = torch.tensor([0.2, 0.4, 0.4])  # both parts exactly 0.4
    maps[0, :, 0, 1] = torch.tensor([0.19, 0.41, 0.4])  # part 1 above 0.4
    vis = part_visibility(maps, 'threshold', 0.4)
    assert vis.tolist() == [[True, False]]


def test_visibility_argmax_rule():
    maps = torch.zeros(1, 4, 1, 2)
    maps[0, :, 0, 0] = torch.tensor([0.5, 0.3, 0.1, 0.1])  # background wins
    maps[0, :, 0, 1] = torch.tensor([0.1, 0.2, 0.6, 0.1])  # part 2 wins
    assert part_visibility(maps, 'argmax').tolist() == [[False, True, False]]
    with pytest.raises(ValueError, match='visibility_mode'):
        part_visibility(maps, 'soft')


# ---------------------------------------------------------------- labels


def test_resize_labels_nearest_area_bilinear():
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[0, :, 8:] = 2
    labels[0, 0, 0] = 1
    labels[0, 11:, :] = 255
    # area: majority of each 8 x 8 block (bottom blocks: 40 ignored vs 24 labelled pixels)
    assert resize_part_labels(labels, (2, 2), 3, 'area').tolist() == [[[0, 2], [255, 255]]]
    # nearest: samples pixels (0, 0), (0, 8), (8, 0), (8, 8)
    assert resize_part_labels(labels, (2, 2), 3, 'nearest').tolist() == [[[1, 2], [0, 2]]]
    # bilinear: nearest to 4 x 4 (pixels 0, 4, 8, 12), then align_corners=True keeps its
    # corners: (0, 0), (0, 12), (12, 0), (12, 12)
    out = resize_part_labels(labels, (2, 2), 3, 'bilinear')
    assert out.tolist() == [[[1, 2], [255, 255]]]
    # same size: unchanged
    assert torch.equal(resize_part_labels(labels, (16, 16), 3), labels)


def test_part_ids_above_k_raise_naming_k_and_the_id():
    head = make_head()
    samples = make_samples()
    samples[2].set_gt_part_map(torch.full((16, 8), 7))
    with pytest.raises(ValueError, match=r'id 7 .*K=3'):
        head.loss(feats(), samples)
    samples[2].set_gt_part_map(torch.full((16, 8), 255))  # ignored pixels are fine
    assert torch.isfinite(head.loss(feats(), samples)['loss_pa'])


def test_missing_part_map_is_reported():
    with pytest.raises(KeyError, match='gt_part_map'):
        make_head().loss(feats(), make_samples(part_map=False))
    head = make_head(pa_loss=dict(type='BodyPartAttentionLoss', loss_weight=0.0))
    assert 'loss_pa' not in head.loss(feats(), make_samples(part_map=False))


def test_config_errors():
    with pytest.raises(ValueError, match=r"num_parts=5 .*'bpbreid3' has K=3"):
        make_head(num_parts=5)
    with pytest.raises(ValueError, match='fg_pooling'):
        make_head(fg_pooling='max')
    with pytest.raises(ValueError, match='gilt_weights'):
        make_head(gilt_weights=dict(parts=dict(id=0, tri=1)))
    with pytest.raises(ValueError, match=r'in_channels=6'):
        make_head()(torch.randn(1, 5, HF, WF))


# ---------------------------------------------------------------- forward


def test_forward_maps_embeddings_and_foreground():
    head = make_head(dim_reduce=None).eval()
    x = feats()[0]
    with torch.no_grad():
        head.pixel_classifier.conv.bias.copy_(torch.tensor([3.0, 0.0, 0.5, -1.0]))
        out = head((x, ))
    maps = out['part_maps']
    assert maps.shape == (4, 4, HF, WF)
    assert torch.allclose(maps.sum(dim=1), torch.ones(4, HF, WF), atol=1e-6)
    # background dominates, yet the foreground map is the max over parts 1..K only
    assert torch.equal(out['foreground_map'], maps[:, 1:].max(dim=1).values)
    assert (out['foreground_map'] < maps[:, 0]).all()
    # D = C without reduction: f_g = GAP, f_k = GWAP(G, M_k), f_c = parts in order
    assert torch.allclose(out['global'], x.mean(dim=(2, 3)), atol=1e-6)
    fg = weighted_average_pool(x, out['foreground_map'][:, None])[:, 0]
    assert torch.allclose(out['foreground'], fg, atol=1e-6)
    assert torch.allclose(out['parts'], weighted_average_pool(x, maps[:, 1:]), atol=1e-6)
    assert torch.equal(out['concat'], out['parts'].reshape(4, 3 * C))
    assert out['visibility'].dtype == torch.bool and out['visibility'].shape == (4, 3)


def test_pool_by_masks_hand_worked():
    # 1 channel, 2x2 map [[1, 2], [3, 4]]; masks: pixel (0,1) only, left column halves
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    masks = torch.tensor([[[[0.0, 1.0], [0.0, 0.0]], [[0.5, 0.0], [0.5, 0.0]]]])
    out = pool_by_masks(x, masks, with_mean=True)  # [1, 3, 1]
    # GAP = 10 / 4; sums: 2; 0.5 * 1 + 0.5 * 3 = 2
    assert torch.allclose(out[0, :, 0], torch.tensor([2.5, 2.0, 2.0]))
    assert torch.allclose(pool_by_masks(x, masks)[0, :, 0], torch.tensor([2.0, 2.0]))
    with pytest.raises(ValueError, match='pool_by_masks'):
        pool_by_masks(x, masks[:, :, :1])


def test_pixel_logits_equal_the_1x1_convolution_in_both_passes():
    head = make_head().train()
    with torch.no_grad():
        head.pixel_classifier.conv.weight.normal_()
        head.pixel_classifier.conv.bias.normal_()
    x = feats()[0].requires_grad_(True)
    ours = head.pixel_logits(x)
    g_ours = torch.autograd.grad(ours.square().sum(), [x, head.pixel_classifier.conv.weight])
    x2 = x.detach().clone().requires_grad_(True)
    ref = head.pixel_classifier(x2)  # BN2d then the Conv2d module itself
    g_ref = torch.autograd.grad(ref.square().sum(), [x2, head.pixel_classifier.conv.weight])
    assert torch.allclose(ours, ref, atol=1e-5)
    for a, b in zip(g_ours, g_ref):
        assert torch.allclose(a, b, atol=1e-4)


def test_pixel_logits_return_the_gradient_in_the_maps_layout():
    # a broadcast matmul would hand back a channels-last gradient, and the batch norm in
    # front of the classifier would then take its slow mixed-layout backward pass
    from mmreidparts.models.utils.part_maps import pixel_logits
    conv = torch.nn.Conv2d(6, 3, 1)
    x = torch.randn(2, 6, 4, 5, requires_grad=True)
    logits = pixel_logits(x, conv)
    (grad, ) = torch.autograd.grad(logits.square().sum(), [x])
    assert grad.is_contiguous()
    # d/dx sum(logits^2) = 2 W^T logits, worked out per location
    expected = 2 * torch.einsum('jc,njhw->nchw', conv.weight[:, :, 0, 0], logits.detach())
    assert torch.allclose(grad, expected, atol=1e-5)


def test_pixel_classifier_init_follows_the_release():
    head = make_head()
    conv = head.pixel_classifier.conv
    assert conv.weight.shape == (4, C, 1, 1)
    assert conv.weight.std().item() < 0.01 and (conv.bias == 0).all()
    assert (head.pixel_classifier.bn.weight == 1).all()
    assert not head.foreground_bnneck.bn.bias.requires_grad


# ---------------------------------------------------------------- losses


def test_default_gilt_losses_and_their_values():
    head = make_head()
    samples = make_samples()
    losses = head.loss(feats(), samples)
    assert set(losses) == {'loss_pa', 'loss_id_global', 'loss_id_foreground',
                           'loss_id_concat', 'loss_tri_parts'}
    assert head.parts_bnnecks is None  # GiLt: no part identity classifiers at all
    out = head(feats())
    labels = torch.tensor([0, 0, 1, 1])
    target = resize_part_labels(
        torch.stack([s.gt_part_map.data[0] for s in samples]), (HF, WF), 4, 'bilinear')
    expected_pa = 0.35 * F.cross_entropy(out['part_logits'], target, label_smoothing=0.1)
    assert losses['loss_pa'].item() == pytest.approx(expected_pa.item(), rel=1e-5)
    expected_tri = PartAveragedTripletLoss(margin=0.3)(out['parts'], labels)
    assert losses['loss_tri_parts'].item() == pytest.approx(expected_tri.item(), rel=1e-5)
    logits = head.concat_bnneck(out['concat'])[1]
    expected_id = F.cross_entropy(logits, labels, label_smoothing=0.1)
    assert losses['loss_id_concat'].item() == pytest.approx(expected_id.item(), rel=1e-5)


def test_triplet_gradient_reaches_pixel_classifier_but_not_holistic_branches():
    head = make_head()
    head.loss(feats(), make_samples())['loss_tri_parts'].backward()
    assert head.pixel_classifier.conv.weight.grad.abs().sum() > 0
    assert head.parts_reduce[0].weight.grad.abs().sum() > 0
    # the triplet term sees only part features
    assert head.global_reduce[0].weight.grad is None
    assert head.foreground_reduce[0].weight.grad is None


def test_gilt_table_switches_losses_and_part_classifiers():
    table = {'global': dict(id=0.0, tri=1.0), 'foreground': dict(id=1.0, tri=0.0),
             'concat': dict(id=0.0, tri=0.0), 'parts': dict(id=1.0, tri=0.0)}
    head = make_head(gilt_weights=table)
    assert head.global_bnneck is None and head.concat_bnneck is None
    losses = head.loss(feats(), make_samples())
    assert set(losses) == {'loss_pa', 'loss_tri_global', 'loss_id_foreground',
                           'loss_id_parts'}
    losses['loss_id_parts'].backward()
    assert all(n.fc.weight.grad.abs().sum() > 0 for n in head.parts_bnnecks)


# ---------------------------------------------------------------- predict


def test_predict_contract_names_and_normalisation():
    head = make_head().eval()
    scheme = get_part_scheme('bpbreid3')
    with torch.no_grad():
        results = head.predict(feats(), make_samples(part_map=False))
        out = head(feats())
    assert len(results) == 4
    for i, sample in enumerate(results):
        assert sample.embeddings.shape == (4, 4)  # [1 + K, D]
        assert sample.embedding_names == ('foreground', ) + scheme.names
        assert sample.visibility[0] == 1
        assert set(sample.visibility.tolist()) <= {0.0, 1.0}
        assert torch.equal(sample.visibility[1:], out['visibility'][i].float())
        assert torch.allclose(sample.embeddings.norm(dim=1), torch.ones(4), atol=1e-5)
        # release default: the BN'd foreground embedding
        assert torch.allclose(sample.embeddings[0], F.normalize(out['bn_foreground'][i], dim=0),
                              atol=1e-6)


def test_predict_pre_bn_foreground_without_normalisation():
    head = make_head(test_foreground='pre_bn', test_normalize=False).eval()
    with torch.no_grad():
        results = head.predict(feats())
        out = head(feats())
    assert torch.allclose(results[1].embeddings[0], out['foreground'][1])
    assert torch.allclose(results[1].embeddings[1:], out['parts'][1])
    assert math.isclose(float(results[1].visibility[0]), 1.0)


def test_predict_tensors_is_what_predict_stores():
    head = make_head().eval()
    with torch.no_grad():
        embeddings, visibility = head.predict_tensors(feats())
        results = head.predict(feats())
        out = head(feats())
    assert embeddings.shape == (4, 4, 4) and visibility.shape == (4, 4)  # [N, 1+K, D]
    assert visibility[:, 0].tolist() == [1.0] * 4
    assert torch.equal(visibility[:, 1:], out['visibility'].float())
    for i, sample in enumerate(results):
        assert torch.equal(sample.embeddings, embeddings[i])
        assert torch.equal(sample.visibility, visibility[i])
    with pytest.raises(ValueError, match='2 data samples for a batch of 4'):
        head.predict(feats(), make_samples(2, part_map=False))
