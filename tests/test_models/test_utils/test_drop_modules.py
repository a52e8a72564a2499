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
