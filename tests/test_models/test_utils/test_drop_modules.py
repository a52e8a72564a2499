"""DROP's shared pieces: multi-scale concatenation, DPU, position encoder, weighted max pooling."""
import pytest
import torch
import torch.nn.functional as F

from mmreidparts.models.utils.detail_upsampling import DetailPreservingUpsampling
from mmreidparts.models.utils.distributed import all_gather_with_grad, scale_grad
from mmreidparts.models.utils.multi_scale import (
    interpolation_matrices,
    resize_concat,
    resize_to,
)
from mmreidparts.models.utils.pooling import (
    max_with_indices,
    pool_by_masks,
    weighted_max_pool,
)
from mmreidparts.models.utils.position_encoding import (
    PedestrianPositionEncoder,
    pixel_coordinates,
)


def _stages(batch=2, channels=(4, 6, 8, 10), size=(16, 8), seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, c, size[0] >> i, size[1] >> i, generator=gen)
            for i, c in enumerate(channels)]


def test_resize_concat_keeps_the_first_map_and_upsamples_the_others():
    xs = _stages()
    out = resize_concat(xs)
    assert out.shape == (2, 28, 16, 8)
    assert torch.equal(out[:, :4], xs[0])  # the first map's channels, bit for bit
    ref = F.interpolate(xs[3], size=(16, 8), mode='bilinear', align_corners=True)
    assert torch.allclose(out[:, 18:], ref, atol=1e-6)
    # a 1x1 map upsampled is constant
    const = resize_concat([torch.zeros(1, 1, 4, 2), torch.full((1, 1, 1, 1), 3.0)])
    assert torch.equal(const[:, 1], torch.full((1, 4, 2), 3.0))


def test_interpolation_matrices_by_hand():
    # 2 -> 4 with corners aligned: sources 0, 1/3, 2/3, 1
    mat_h, mat_w = interpolation_matrices((2, 1), (4, 3), True, torch.float64, 'cpu')
    assert torch.allclose(mat_h, torch.tensor([[1, 0], [2 / 3, 1 / 3], [1 / 3, 2 / 3], [0, 1]],
                                              dtype=torch.float64))
    assert torch.equal(mat_w, torch.ones(3, 1, dtype=torch.float64))  # 1 -> 3 copies
    # 2 -> 4 with half-pixel centres: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (-> 1)
    mat_h, _ = interpolation_matrices((2, 1), (4, 1), False, torch.float64, 'cpu')
    assert torch.allclose(mat_h, torch.tensor([[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]],
                                              dtype=torch.float64))


@pytest.mark.parametrize('align_corners', [True, False])
@pytest.mark.parametrize('sizes', [((8, 4), (64, 32)), ((5, 3), (11, 7)), ((12, 8), (6, 4)),
                                   ((7, 5), (3, 9)), ((1, 1), (4, 2))])
def test_resize_to_is_the_bilinear_interpolation(align_corners, sizes):
    (h, w), size = sizes
    x = torch.randn(2, 3, h, w, dtype=torch.float64, requires_grad=True)
    ours = resize_to(x, size, align_corners)
    ref = F.interpolate(x, size=size, mode='bilinear', align_corners=align_corners)
    assert torch.allclose(ours, ref, atol=1e-12)
    grad = torch.randn(ref.shape, dtype=torch.float64)
    g_ours, = torch.autograd.grad((ours * grad).sum(), x)
    g_ref, = torch.autograd.grad((ref * grad).sum(), x)
    assert torch.allclose(g_ours, g_ref, atol=1e-12)
    assert resize_to(x, (h, w), align_corners) is x  # the size it has: unchanged


def test_max_with_indices_matches_max_with_ties_and_odd_lengths():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 96, generator=gen)
    x[0, 0] = 0.0  # all tied: the first position
    x[1, 2, [40, 70]] = 9.0  # a tie across two blocks: the first one
    x[2, 1, [65, 66]] = 9.0  # a tie inside a block
    values, indices = max_with_indices(x)
    ref_values, ref_indices = x.max(dim=-1)
    assert torch.equal(values, ref_values) and torch.equal(indices, ref_indices)
    assert indices[0, 0] == 0 and indices[1, 2] == 40 and indices[2, 1] == 65
    odd = torch.randn(2, 50, generator=gen)  # not a multiple of the block: plain max
    assert torch.equal(max_with_indices(odd)[1], odd.max(dim=-1)[1])


def test_pool_by_masks_by_hand():
    feats = torch.arange(8.0).view(1, 2, 2, 2)  # channel 0: 0..3, channel 1: 4..7
    masks = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.5], [0.5, 1.0]]]])
    out = pool_by_masks(feats, masks, with_mean=True)
    # rows: the spatial mean, then the mask-weighted sums (0.5 * 5 + 0.5 * 6 + 1 * 7 = 12.5)
    assert torch.equal(out, torch.tensor([[[1.5, 5.5], [0.0, 4.0], [4.5, 12.5]]]))


def test_dpu_shape_and_weights_are_the_four_channel_reductions():
    dpu = DetailPreservingUpsampling((4, 6, 8, 10), channels=5)
    assert dpu(_stages()).shape == (2, 5, 16, 8)
    names = {n.split('.')[1] for n, _ in dpu.named_parameters()}
    assert names == {'0', '1', '2', '3'} and len(dpu.reduce) == 4  # only CR_1..CR_4


def test_dpu_cascade_with_identity_reductions_is_the_sum_of_chained_upsamplings():
    dpu = DetailPreservingUpsampling((3, 3, 3, 3), channels=3)
    dpu.reduce = torch.nn.ModuleList(torch.nn.Identity() for _ in range(4))
    xs = _stages(channels=(3, 3, 3, 3))

    def up(x, times):  # chained 2x bilinear upsamplings
        for _ in range(times):
            x = F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
        return x

    closed = xs[0] + up(xs[1], 1) + up(xs[2], 2) + up(xs[3], 3)
    assert torch.allclose(dpu(xs), closed, atol=1e-5)
    # hand-worked: only the deepest 1x1 stage is non-zero -> the output is that constant
    zeros = [torch.zeros(1, 3, 8 >> i, 4 >> i) for i in range(3)]
    deep = torch.tensor([1.0, -2.0, 0.5]).view(1, 3, 1, 1)
    out = dpu(zeros + [deep])
    assert torch.allclose(out, deep.expand(1, 3, 8, 4))


def test_pixel_coordinates_hand_values():
    rows = pixel_coordinates(3, 2, '1d')
    assert torch.equal(rows[0, 0], torch.tensor([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]))
    both = pixel_coordinates(3, 2, '2d')
    assert torch.equal(both[0, 1], torch.tensor([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]))
    assert torch.equal(pixel_coordinates(1, 1, '1d'), torch.zeros(1, 1, 1, 1))
    with pytest.raises(ValueError, match='position mode'):
        pixel_coordinates(2, 2, '3d')


@pytest.mark.parametrize('mode', ['1d', '2d'])
def test_position_embedding_depends_only_on_the_map_size(mode):
    torch.manual_seed(0)
    ppe = PedestrianPositionEncoder(channels=6, mode=mode).eval()
    with torch.no_grad():
        for m in ppe.modules():  # non-trivial BN statistics
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
        emb = ppe(8, 4, batch_size=3)
    assert emb.shape == (3, 6, 8, 4)
    assert torch.equal(emb[0], emb[1]) and torch.equal(emb[0], emb[2])  # same for every sample
    along_w = (emb[0] - emb[0, :, :, :1]).abs().amax()
    along_h = (emb[0] - emb[0, :, :1, :]).abs().amax()
    assert along_h > 1e-3  # varies with the row
    if mode == '1d':
        assert along_w == 0  # exactly constant along W
    else:
        assert along_w > 1e-3


def test_weighted_max_pool_values_and_gradient_match_amax():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 5, 4, 3, generator=gen, requires_grad=True)
    masks = torch.rand(2, 3, 4, 3, generator=gen, requires_grad=True)
    out = weighted_max_pool(feats, masks)
    ref = (feats[:, None] * masks[:, :, None]).flatten(3).amax(dim=3)  # [N, J, C]
    assert torch.equal(out, ref)
    weights = torch.randn(ref.shape, generator=gen)
    g_ours = torch.autograd.grad((out * weights).sum(), [feats, masks])
    g_ref = torch.autograd.grad((ref * weights).sum(), [feats, masks])
    for a, b in zip(g_ours, g_ref):
        assert torch.allclose(a, b, atol=1e-6)
    # without gradient the same values (the path ONNX export traces)
    with torch.no_grad():
        assert torch.equal(weighted_max_pool(feats, masks), ref)
    with pytest.raises(ValueError, match='weighted_max_pool'):
        weighted_max_pool(feats, masks[:, :, :2])


def test_weighted_max_pool_on_maps_of_whole_blocks():
    # 8 x 8 = 64 positions: the blocked argmax path, with ReLU zeros (ties)
    gen = torch.Generator().manual_seed(1)
    feats = torch.randn(2, 6, 8, 8, generator=gen).relu().requires_grad_(True)
    masks = torch.rand(2, 4, 8, 8, generator=gen).requires_grad_(True)
    out = weighted_max_pool(feats, masks)
    ref = (feats[:, None] * masks[:, :, None]).flatten(3).amax(dim=3)
    assert torch.equal(out, ref)
    weights = torch.randn(ref.shape, generator=gen)
    g_ours = torch.autograd.grad((out * weights).sum(), [feats, masks])
    # the subgradient of the first maximal position (amax would split ties evenly)
    prod = (feats[:, None] * masks[:, :, None]).flatten(3)
    first = F.one_hot(prod.argmax(dim=3), 64).to(prod.dtype)  # [N, J, C, HW]
    g_ref = torch.autograd.grad(((prod * first).sum(dim=3) * weights).sum(), [feats, masks])
    for a, b in zip(g_ours, g_ref):
        assert torch.allclose(a, b, atol=1e-6)


def test_weighted_max_pool_channel_blocks_and_traced_graph_agree(monkeypatch):
    # 10 channels in blocks of 4 (a short last block), 64 positions (blocked argmax)
    from mmreidparts.models.utils import pooling
    monkeypatch.setattr(pooling, 'WMAX_CHANNEL_BLOCK', 4)
    gen = torch.Generator().manual_seed(2)
    feats = torch.randn(3, 10, 8, 8, generator=gen).relu()
    masks = torch.rand(3, 5, 8, 8, generator=gen)
    prod = (feats[:, None] * masks[:, :, None]).flatten(3)  # [N, J, C, HW]
    ref_val, ref_idx = prod.max(dim=3)
    val, idx = pooling._weighted_max_forward(feats, masks)
    assert torch.equal(val, ref_val) and torch.equal(idx, ref_idx)
    # the graph an ONNX export traces gives the same values
    traced = torch.jit.trace(lambda f, m: pooling._weighted_max_forward(f, m)[0],
                             (feats, masks), check_trace=False)
    assert torch.equal(traced(feats, masks), ref_val)


def test_weighted_max_pool_of_a_bfloat16_map_keeps_the_rounded_maxima():
    gen = torch.Generator().manual_seed(3)
    feats = torch.randn(2, 6, 8, 8, generator=gen).to(torch.bfloat16)
    masks = torch.rand(2, 3, 8, 8, generator=gen).to(torch.bfloat16)
    from mmreidparts.models.utils.pooling import _weighted_max_forward
    val, idx = _weighted_max_forward(feats, masks)
    assert val.dtype == torch.bfloat16
    exact = (feats.float()[:, None] * masks.float()[:, :, None]).flatten(3)  # exact products
    ref_val, ref_idx = exact.max(dim=3)
    assert torch.equal(idx, ref_idx)
    assert torch.equal(val, ref_val.to(torch.bfloat16))
    # the maxima of the products rounded to bfloat16 are the same numbers
    rounded = (feats[:, None] * masks[:, :, None]).flatten(3)
    assert torch.equal(val, rounded.amax(dim=3))


def test_all_gather_and_scale_grad_outside_a_process_group():
    x = torch.randn(3, 2, requires_grad=True)
    assert all_gather_with_grad(x) is x
    y = scale_grad((x * 2).sum(), 3.0)
    assert torch.allclose(y, (x * 2).sum())  # value unchanged
    y.backward()
    assert torch.allclose(x.grad, torch.full((3, 2), 6.0))  # gradient x3


def _first_max(feats, masks):
    prod = (feats.float()[:, None] * masks.float()[:, :, None]).flatten(3)  # [N, J, C, HW]
    return prod.max(dim=3)


def _spy_dense(monkeypatch):
    from mmreidparts.models.utils import pooling
    calls = []
    dense = pooling._dense_weighted_max

    def spy(*args):
        calls.append(1)
        return dense(*args)

    monkeypatch.setattr(pooling, '_dense_weighted_max', spy)
    return pooling, calls


def test_bounded_weighted_max_hand_worked_rows_and_ties(monkeypatch):
    pooling, calls = _spy_dense(monkeypatch)
    monkeypatch.setattr(pooling, 'WMAX_DENSE_FRACTION', 1.0)  # two rows: always search
    # products [[0, 1.5], [1, 1]]: the maximum 1.5 at position 1
    feats = torch.tensor([[0., 3.], [2., 1.]]).view(1, 1, 2, 2)
    masks = torch.tensor([[1., .5], [.5, 1.]]).view(1, 1, 2, 2)
    val, idx = pooling._weighted_max_forward(feats, masks)
    assert val.item() == 1.5 and idx.item() == 1
    # products [[1, 1], [1, 0]]: row 1 has the larger bound (2 x 1) and a 1 at position 2,
    # row 0 (bound 1) reaches it and holds the first 1, at position 0
    feats = torch.tensor([[1., 1.], [2., 0.]]).view(1, 1, 2, 2)
    masks = torch.tensor([[1., 1.], [.5, 1.]]).view(1, 1, 2, 2)
    val, idx = pooling._weighted_max_forward(feats, masks)
    assert val.item() == 1.0 and idx.item() == 0
    # a row of negative features is bounded by X * Wmin: products [[-2, -1], [-0.5, -4]]
    feats = torch.tensor([[-2., -4.], [-1., -4.]]).view(1, 1, 2, 2)
    masks = torch.tensor([[1., .25], [.5, 1.]]).view(1, 1, 2, 2)
    val, idx = pooling._weighted_max_forward(feats, masks)
    assert val.item() == -0.5 and idx.item() == 2
    assert not calls  # all by the bounded search


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_bounded_weighted_max_equals_the_dense_products_on_smooth_maps(monkeypatch, dtype):
    pooling, calls = _spy_dense(monkeypatch)
    # the dead channel opens every row (all its bounds equal its maximum, 0): search anyway
    monkeypatch.setattr(pooling, 'WMAX_DENSE_FRACTION', 1.0)
    gen = torch.Generator().manual_seed(4)
    # upsampled coarse maps (as P_reid): ReLU zeros, a dead channel, a negative channel
    coarse = torch.randn(3, 12, 4, 2, generator=gen)
    feats = F.interpolate(coarse, size=(16, 8), mode='bilinear', align_corners=True).relu()
    feats[:, 3] = 0
    feats[:, 5] = -feats[:, 5] - 0.1
    feats = feats.to(dtype).requires_grad_(True)
    logits = F.interpolate(torch.randn(3, 5, 4, 2, generator=gen) * 3, size=(16, 8),
                           mode='bilinear', align_corners=True)
    masks = logits.softmax(dim=1).requires_grad_(True)
    val, idx = pooling._weighted_max_forward(feats.detach(), masks.detach())
    assert not calls
    ref_val, ref_idx = _first_max(feats.detach(), masks.detach().to(dtype))
    assert torch.equal(idx, ref_idx)
    assert torch.equal(val, ref_val.to(dtype))
    # gradient: the subgradient of the first maximal product, summed where two masks share
    # a location (the masks' gradient is taken against the masks in the features' precision)
    out = weighted_max_pool(feats, masks)
    weights = torch.randn(out.shape, generator=gen)
    g_feats, g_masks = torch.autograd.grad((out.float() * weights).sum(), [feats, masks])
    first = F.one_hot(ref_idx, 128).float()  # [N, J, C, HW]
    ref_f = torch.einsum('njc,njcl,njl->ncl', weights, first, masks.detach().flatten(2))
    ref_m = torch.einsum('njc,njcl,ncl->njl', weights, first, feats.detach().float().flatten(2))
    tol = 1e-5 if dtype == torch.float32 else 2e-2
    assert torch.allclose(g_feats.float().flatten(2), ref_f, atol=tol, rtol=tol)
    assert torch.allclose(g_masks.flatten(2), ref_m, atol=tol, rtol=tol)


def test_weighted_max_falls_back_to_dense_products(monkeypatch):
    pooling, calls = _spy_dense(monkeypatch)
    gen = torch.Generator().manual_seed(5)
    feats = F.interpolate(torch.randn(2, 4, 4, 2, generator=gen), size=(8, 8)).relu()
    masks = torch.rand(2, 3, 8, 8, generator=gen)
    ref_val, ref_idx = _first_max(feats, masks)
    # the bounds rule out too few rows
    monkeypatch.setattr(pooling, 'WMAX_DENSE_FRACTION', 0.0)
    val, idx = pooling._weighted_max_forward(feats, masks)
    assert len(calls) == 2 and torch.equal(val, ref_val) and torch.equal(idx, ref_idx)
    monkeypatch.setattr(pooling, 'WMAX_DENSE_FRACTION', 0.25)
    # negative weights: no row bound holds
    calls.clear()
    signed = masks - 0.5
    val, idx = pooling._weighted_max_forward(feats, signed)
    s_val, s_idx = _first_max(feats, signed)
    assert len(calls) == 2 and torch.equal(val, s_val) and torch.equal(idx, s_idx)
    # a non-finite feature in sample 1 only
    calls.clear()
    bad = feats.clone()
    bad[1, 2, 3, 4] = float('inf')
    val, _ = pooling._weighted_max_forward(bad, masks)
    assert len(calls) == 1 and torch.isinf(val[1, :, 2]).all()
    assert torch.equal(val[0], ref_val[0])


def test_bounded_weighted_max_rules_out_most_rows_of_parsing_guided_maps(monkeypatch):
    pooling, calls = _spy_dense(monkeypatch)
    gen = torch.Generator().manual_seed(6)
    coarse = torch.randn(2, 16, 8, 4, generator=gen)
    feats = F.interpolate(coarse, size=(64, 32), mode='bilinear', align_corners=True).relu()
    # body-part-like masks: part k is most likely in a band of rows around row 10 k + 7
    rows = torch.arange(64.)[:, None].expand(64, 32)
    centres = 10 * torch.arange(6.) + 7
    logits = -((rows[None] - centres[:, None, None]) / 4) ** 2  # [6, 64, 32]
    logits = logits[None] + 0.5 * torch.randn(2, 6, 64, 32, generator=gen)
    masks = logits.softmax(dim=1)
    flat, weights = feats.flatten(2), masks.flatten(2)
    found = pooling._bounded_weighted_max(flat[0], weights[0], 64)
    assert found is not None
    ref_val, ref_idx = _first_max(feats, masks)
    assert torch.equal(found[0], ref_val[0]) and torch.equal(found[1], ref_idx[0])
    val, idx = pooling._weighted_max_forward(feats, masks)
    assert not calls and torch.equal(val, ref_val) and torch.equal(idx, ref_idx)


def test_pool_by_masks_and_max_values_and_gradients_hand_checked():
    from mmreidparts.models.utils.pooling import pool_by_masks_and_max
    gen = torch.Generator().manual_seed(7)
    feats = F.interpolate(torch.randn(2, 5, 4, 2, generator=gen), size=(8, 4),
                          mode='bilinear', align_corners=True).relu().requires_grad_(True)
    masks = torch.rand(2, 3, 8, 4, generator=gen).requires_grad_(True)
    sums, top = pool_by_masks_and_max(feats, masks, with_mean=True)
    prod = (feats[:, None] * masks[:, :, None]).flatten(3)  # [N, J, C, HW]
    ref_sums = torch.cat([feats.flatten(2).mean(dim=2)[:, None], prod.sum(dim=3)], dim=1)
    ref_top = prod.amax(dim=3)
    assert torch.allclose(sums, ref_sums, atol=1e-6) and torch.equal(top, ref_top)
    w_s = torch.randn(sums.shape, generator=gen)
    w_t = torch.randn(top.shape, generator=gen)
    ours = torch.autograd.grad((sums * w_s).sum() + (top * w_t).sum(), [feats, masks])
    ref = torch.autograd.grad((ref_sums * w_s).sum() + (ref_top * w_t).sum(), [feats, masks],
                              retain_graph=True)
    for a, b in zip(ours, ref):
        assert torch.allclose(a, b, atol=1e-5)
    # pool_by_masks: the same sums and gradients with the lean backward
    sums2 = pool_by_masks(feats, masks, with_mean=True)
    ours = torch.autograd.grad((sums2 * w_s).sum(), [feats, masks])
    ref = torch.autograd.grad((ref_sums * w_s).sum(), [feats, masks], retain_graph=True)
    for a, b in zip(ours, ref):
        assert torch.allclose(a, b, atol=1e-5)
    # only the maxima used: the sums' gradient is zero
    _, top = pool_by_masks_and_max(feats, masks)
    (g, ) = torch.autograd.grad((top * w_t).sum(), [feats])
    (g_ref, ) = torch.autograd.grad((ref_top * w_t).sum(), [feats])
    assert torch.allclose(g, g_ref, atol=1e-6)


def test_pool_by_masks_and_max_under_bfloat16_autocast():
    from mmreidparts.models.utils.pooling import pool_by_masks_and_max
    gen = torch.Generator().manual_seed(8)
    feats = torch.randn(2, 6, 8, 4, generator=gen).relu().to(torch.bfloat16).requires_grad_(True)
    masks = torch.rand(2, 3, 8, 4, generator=gen).requires_grad_(True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        sums, top = pool_by_masks_and_max(feats, masks, with_mean=True)
        ref_sums = torch.bmm(feats.flatten(2), torch.cat(
            [torch.full((2, 1, 32), 1 / 32.), masks.flatten(2)], 1).transpose(1, 2))
    assert sums.dtype == torch.bfloat16 and top.dtype == torch.bfloat16
    assert torch.equal(sums, ref_sums.transpose(1, 2))
    loss = sums.float().sum() + top.float().sum()
    g_feats, g_masks = torch.autograd.grad(loss, [feats, masks])
    assert g_feats.dtype == torch.bfloat16 and g_masks.dtype == torch.float32
    prod = (feats.float()[:, None] * masks.to(torch.bfloat16).float()[:, :, None]).flatten(3)
    first = F.one_hot(prod.argmax(dim=3), 32).float()  # [N, J, C, HW]
    m = masks.detach().to(torch.bfloat16).float().flatten(2)
    ref_f = 1 / 32. + m.sum(dim=1, keepdim=True) + torch.einsum('njcl,njl->ncl', first, m)
    assert torch.allclose(g_feats.float().flatten(2), ref_f, rtol=2e-2, atol=2e-2)
