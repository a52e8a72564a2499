"""Bilinear and compact bilinear pooling: the invariants of the part-aligned bilinear spec."""
import itertools

import numpy as np
import pytest
import torch

from mmreidparts.models.utils import (
    BilinearPooling,
    CompactBilinearPooling,
    bilinear_pool,
    count_sketch_matrix,
    sketch_hashes,
    tensor_sketch,
)
from mmreidparts.registry import MODELS


def _maps(seed, n=2, ca=4, cp=3, h=3, w=2):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, ca, h, w, generator=gen, dtype=torch.float64),
            torch.randn(n, cp, h, w, generator=gen, dtype=torch.float64))


def direct_count_sketch(vec_outer, h1, s1, h2, s2, d):
    """Count sketch of vec(a (x) p) (part index outermost) with hash (h1 + h2) mod d."""
    ca, cp = len(h1), len(h2)
    out = torch.zeros(d, dtype=vec_outer.dtype)
    for j, i in itertools.product(range(cp), range(ca)):
        out[(h1[i] + h2[j]) % d] += s1[i] * s2[j] * vec_outer[j * ca + i]
    return out


def test_exact_pooling_is_the_mean_outer_product_with_part_blocks_outermost():
    a, p = _maps(0)
    f = bilinear_pool(a, p)  # [N, cP * cA]
    assert f.shape == (2, 12)
    for n in range(2):
        loop = sum(torch.outer(p[n, :, y, x], a[n, :, y, x]).flatten()
                   for y in range(3) for x in range(2)) / 6
        assert torch.allclose(f[n], loop)
        # block k (entries k*cA .. (k+1)*cA) is the appearance pooled with weight p_k
        for k in range(3):
            assert torch.allclose(f[n, 4 * k:4 * (k + 1)], (a[n] * p[n, k]).mean(dim=(1, 2)))
    assert torch.equal(BilinearPooling(4, 3)(a, p), f)


def test_similarity_is_appearance_similarity_weighted_by_part_similarity():
    a, p = _maps(1, n=1)
    a2, p2 = _maps(2, n=1)
    f, f2 = bilinear_pool(a, p)[0], bilinear_pool(a2, p2)[0]
    rows = lambda m: m[0].flatten(1).t()  # noqa: E731  [S, C]
    ra, rp, ra2, rp2 = rows(a), rows(p), rows(a2), rows(p2)
    pairs = (ra @ ra2.t()) * (rp @ rp2.t())  # [S, S'] <a_xy, a'_x'y'> <p_xy, p'_x'y'>
    assert torch.dot(f, f2) == pytest.approx(float(pairs.sum()) / 36, rel=1e-10)
    # with a~ = a / sqrt|f| and p~ = p / sqrt|f| the same sum gives <f / |f|, f' / |f'|>
    na, na2 = f.norm().sqrt(), f2.norm().sqrt()
    pairs = ((ra / na) @ (ra2 / na2).t()) * ((rp / na) @ (rp2 / na2).t())
    cosine = torch.dot(f / f.norm(), f2 / f2.norm())
    assert cosine == pytest.approx(float(pairs.sum()) / 36, rel=1e-10)


def test_special_cases_constant_part_map_and_box_indicators():
    a, _ = _maps(3)
    ones = torch.ones(2, 1, 3, 2, dtype=torch.float64)
    assert torch.allclose(bilinear_pool(a, ones), a.mean(dim=(2, 3)))  # GAP
    boxes = torch.zeros(2, 2, 3, 2, dtype=torch.float64)
    boxes[:, 0, :2] = 1  # rows 0-1
    boxes[:, 1, 2:] = 1  # row 2
    f = bilinear_pool(a, boxes)
    top = a[:, :, :2].sum(dim=(2, 3)) / 6  # per-box appearance sums / S
    bottom = a[:, :, 2:].sum(dim=(2, 3)) / 6
    assert torch.allclose(f, torch.cat([top, bottom], dim=1))


def test_count_sketch_matrix_and_a_hand_worked_tensor_sketch():
    m = count_sketch_matrix([0, 1, 1], [1.0, -1.0, 1.0], 3)
    assert torch.equal(m, torch.tensor([[1.0, 0, 0], [0, -1.0, 0], [0, 1.0, 0]]))
    # a = (1, 2), p = (3); h1 = (0, 1), s1 = (1, -1), h2 = (2), s2 = (1), d = 4:
    # vec(a (x) p) = (3, 6) -> +3 at (0 + 2) mod 4 = 2, -6 at (1 + 2) mod 4 = 3
    sa = count_sketch_matrix([0, 1], [1.0, -1.0], 4)
    sp = count_sketch_matrix([2], [1.0], 4)
    out = tensor_sketch(torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0]]), sa, sp)
    assert torch.allclose(out, torch.tensor([[0.0, 0.0, 3.0, -6.0]]), atol=1e-5)


def test_tensor_sketch_equals_the_direct_count_sketch_of_the_outer_product():
    gen = torch.Generator().manual_seed(4)
    ca, cp, d = 6, 5, 8
    h1, s1 = sketch_hashes(ca, d, 11, 12)
    h2, s2 = sketch_hashes(cp, d, 13, 14)
    a, p = torch.randn(3, ca, generator=gen), torch.randn(3, cp, generator=gen)
    out = tensor_sketch(a, p, count_sketch_matrix(h1, s1, d), count_sketch_matrix(h2, s2, d))
    for n in range(3):
        vec = torch.outer(p[n], a[n]).flatten()
        assert torch.allclose(out[n], direct_count_sketch(vec, h1, s1, h2, s2, d), atol=1e-5)


def test_pooling_commutes_with_the_sketch():
    a, p = _maps(5, ca=6, cp=5, h=2, w=3)
    pool = CompactBilinearPooling(6, 5, output_dim=8, seeds=(21, 22, 23, 24))
    out = pool(a.float(), p.float())  # [N, d]: mean of per-location sketches
    h1, s1 = sketch_hashes(6, 8, 21, 22)
    h2, s2 = sketch_hashes(5, 8, 23, 24)
    mean_outer = bilinear_pool(a, p)  # [N, cP * cA]
    for n in range(2):
        direct = direct_count_sketch(mean_outer[n], h1, s1, h2, s2, 8)
        assert torch.allclose(out[n].double(), direct, atol=1e-5)


def test_sketch_inner_products_are_unbiased_over_seeds():
    gen = torch.Generator().manual_seed(6)
    ca, cp, d, trials = 5, 4, 16, 20000
    a = torch.randn(ca, generator=gen)
    a2 = a + 0.5 * torch.randn(ca, generator=gen)
    p = torch.randn(cp, generator=gen)
    p2 = p + 0.5 * torch.randn(cp, generator=gen)
    target = float(torch.dot(a, a2) * torch.dot(p, p2))
    rng = np.random.default_rng(0)  # one fresh pair of hash functions per trial

    def sketches(c):
        h = torch.as_tensor(rng.integers(d, size=(trials, c)))
        s = torch.as_tensor(2.0 * rng.integers(2, size=(trials, c)) - 1, dtype=torch.float32)
        return torch.zeros(trials, c, d).scatter_(2, h[..., None], s[..., None])  # [T, c, d]

    sa, sp = sketches(ca), sketches(cp)
    fa = torch.fft.rfft(torch.einsum('kc,tcd->tkd', torch.stack([a, a2]), sa), n=d)
    fp = torch.fft.rfft(torch.einsum('kc,tcd->tkd', torch.stack([p, p2]), sp), n=d)
    ts = torch.fft.irfft(fa * fp, n=d)  # [T, 2, d]
    estimates = (ts[:, 0] * ts[:, 1]).sum(dim=1).numpy()  # [T]
    # the batched form is the tensor sketch of each trial's hashes
    assert torch.allclose(ts[0], tensor_sketch(torch.stack([a, a2]), torch.stack([p, p2]),
                                               sa[0], sp[0]), atol=1e-5)
    stderr = estimates.std() / np.sqrt(trials)  # 0.035 for a target of 10.4
    assert abs(estimates.mean() - target) < 4 * stderr
    assert abs(estimates.mean() - target) < 0.01 * abs(target)
    single = abs(estimates - target).mean()
    assert single > 5 * abs(estimates.mean() - target)  # one sketch alone is not exact


def test_release_hashes_regenerate_numpy_seeds_1_3_5_7():
    # np.random.seed(1); randint(512, size=6) -> [37 235 396 72 255 393], and so on
    h_a, s_a = sketch_hashes(512, 512, 1, 3)
    h_p, s_p = sketch_hashes(128, 512, 5, 7)
    assert h_a[:6].tolist() == [37, 235, 396, 72, 255, 393]
    assert s_a[:6].tolist() == [-1, -1, 1, 1, -1, -1]
    assert h_p[:6].tolist() == [355, 206, 495, 189, 486, 118]
    assert s_p[:6].tolist() == [1, -1, 1, -1, 1, 1]
    pool = MODELS.build(dict(type='CompactBilinearPooling', app_dim=512, part_dim=128))
    assert pool.sketch_a.shape == (512, 512) and pool.sketch_p.shape == (128, 512)
    assert pool.sketch_a[0, 37] == -1 and pool.sketch_a[0].abs().sum() == 1
    assert pool.sketch_p[1, 206] == -1
    assert set(pool.state_dict()) == {'sketch_a', 'sketch_p'}  # saved with the model
    assert not any(True for _ in pool.parameters())  # never trained


def test_sketch_runs_in_float32_under_bfloat16_autocast():
    a, p = _maps(7, ca=6, cp=5)
    pool = CompactBilinearPooling(6, 5, output_dim=8)
    ref = pool(a.float(), p.float())
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = pool(a.bfloat16(), p.bfloat16())
    assert out.dtype == torch.float32
    assert torch.allclose(out, ref, atol=0.05)


def test_bad_shapes_are_named():
    pool = CompactBilinearPooling(6, 5, output_dim=8)
    with pytest.raises(ValueError, match='same grid'):
        pool(torch.zeros(1, 6, 4, 2), torch.zeros(1, 5, 2, 2))
    with pytest.raises(ValueError, match='channels'):
        pool(torch.zeros(1, 7, 2, 2), torch.zeros(1, 5, 2, 2))
    with pytest.raises(ValueError, match='seeds'):
        CompactBilinearPooling(6, 5, seeds=(1, 2))


def test_circular_convolution_by_matrix_products_is_the_fft_one():
    from mmreidparts.models.utils import mean_circular_convolution
    # by hand: a unit impulse at position 1 shifts [1, 2, 3, 4] by one place
    xa = torch.tensor([[[0., 1., 0., 0.]]])
    xp = torch.tensor([[[1., 2., 3., 4.]]])
    for by_matmul in (False, True):
        torch.testing.assert_close(mean_circular_convolution(xa, xp, 4, by_matmul=by_matmul),
                                   torch.tensor([[4., 1., 2., 3.]]), atol=1e-5, rtol=0)
    # and the mean over locations of the two products, odd and even lengths
    torch.manual_seed(0)
    for d in (7, 8, 512):
        xa, xp = torch.randn(2, 5, d), torch.randn(2, 5, d)
        torch.testing.assert_close(mean_circular_convolution(xa, xp, d, by_matmul=True),
                                   mean_circular_convolution(xa, xp, d), atol=1e-4, rtol=1e-4)


def test_compact_pooling_exports_to_onnx_and_gives_the_same_sketch(tmp_path):
    pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')

    class Pair(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = CompactBilinearPooling(6, 4, output_dim=16)

        def forward(self, x):
            return self.pool(x[:, :6], x[:, 6:])

    model = Pair().eval()
    torch.manual_seed(1)
    x = torch.randn(3, 10, 4, 2)
    path = str(tmp_path / 'pool.onnx')
    torch.onnx.export(model, (x, ), path, input_names=['x'], output_names=['y'],
                      dynamic_axes={'x': {0: 'n'}}, opset_version=17, dynamo=False)
    got = ort.InferenceSession(path).run(['y'], {'x': x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).numpy(), atol=1e-5)
