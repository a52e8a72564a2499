"""Bilinear pooling of two maps on the same grid: exact, and compact (Tensor Sketch).

With ``a_xy`` [cA] and ``p_xy`` [cP] at each of the S = h * w locations,

    f = (1 / S) sum_xy vec(a_xy (x) p_xy),   vec(a (x) p) = [p_1 a, p_2 a, ..., p_cP a]

(part index outermost: block k is the appearance vector gated by part channel k).
Compact bilinear pooling (Pham & Pagh 2013; Gao et al. 2016) replaces the ``cA * cP``
dimensional vector by its count sketch of dimension d, computed per location as the
circular convolution of the count sketches of the two factors,

    TS(a, p) = IFFT(FFT(C1 a) * FFT(C2 p)),   C1 [d, cA], C2 [d, cP] count sketch matrices,

which equals the count sketch of ``vec(a (x) p)`` with hash ``(h1(i) + h2(j)) mod d`` and sign
``s1(i) s2(j)``, and keeps inner products in expectation over the hashes. Sketch and FFT
run in float32, also under autocast.
"""
import math
from typing import Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from mmreidparts.registry import MODELS

# numpy seeds of the released part-aligned bilinear model: hash and sign of the first
# (appearance) factor, hash and sign of the second (part) factor
RELEASE_SEEDS = (1, 3, 5, 7)


def _check_pair(a: Tensor, p: Tensor, name: str) -> None:
    """Both maps ``[N, C, h, w]`` with the same N, h, w."""
    if a.dim() != 4 or p.dim() != 4 or a.shape[0] != p.shape[0] or a.shape[2:] != p.shape[2:]:
        raise ValueError(f'{name} expects two maps [N, C, h, w] on the same grid, got '
                         f'{tuple(a.shape)} and {tuple(p.shape)}')


def bilinear_pool(a: Tensor, p: Tensor) -> Tensor:
    """Exact bilinear pooling ``[N, cP * cA]`` (part index outermost) of maps ``[N, C, h, w]``."""
    _check_pair(a, p, 'bilinear_pool')
    num, size = a.shape[0], a.shape[2] * a.shape[3]
    outer = torch.einsum('nas,nps->npa', a.flatten(2), p.flatten(2)) / size  # [N, cP, cA]
    return outer.reshape(num, -1)


def sketch_hashes(in_dim: int, out_dim: int, hash_seed: int,
                  sign_seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Hash ``h`` [in_dim] in ``[0, out_dim)`` and sign ``s`` [in_dim] in {-1, 1}, seeded.

    Drawn as the release does: ``np.random.seed(hash_seed); randint(out_dim, size=in_dim)``
    and ``np.random.seed(sign_seed); 2 * randint(2, size=in_dim) - 1`` (numpy's legacy
    Mersenne-Twister stream, what ``RandomState(seed)`` draws).
    """
    hashes = np.random.RandomState(hash_seed).randint(out_dim, size=in_dim).astype(np.int64)
    signs = 2 * np.random.RandomState(sign_seed).randint(2, size=in_dim) - 1
    return hashes, signs.astype(np.float32)


def count_sketch_matrix(hashes: Sequence[int], signs: Sequence[float], out_dim: int) -> Tensor:
    """Dense count sketch matrix ``[in_dim, out_dim]`` with ``M[i, h(i)] = s(i)``, else 0."""
    hashes = torch.as_tensor(np.asarray(hashes), dtype=torch.long)
    signs = torch.as_tensor(np.asarray(signs), dtype=torch.float32)
    if hashes.dim() != 1 or hashes.shape != signs.shape:
        raise ValueError(f'hashes and signs must be 1-D of one length, got {tuple(hashes.shape)} '
                         f'and {tuple(signs.shape)}')
    if hashes.numel() and (int(hashes.min()) < 0 or int(hashes.max()) >= out_dim):
        raise ValueError(f'hashes must lie in [0, {out_dim})')
    matrix = torch.zeros(hashes.numel(), out_dim)
    matrix[torch.arange(hashes.numel()), hashes] = signs
    return matrix


def real_dft_matrices(d: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Matrices of the real DFT of length ``d`` and of its inverse, as matrix products.

    With ``m = d // 2 + 1`` frequencies: ``rfft(x) = x @ cos - 1j * (x @ sin)`` (``cos``,
    ``sin`` ``[d, m]``) and ``irfft(y) = y.real @ icos - y.imag @ isin`` (``[m, d]``, the
    weights ``1/d`` for the constant and Nyquist terms, ``2/d`` for the others).
    """
    m = d // 2 + 1
    n = torch.arange(d, dtype=torch.float64)
    k = torch.arange(m, dtype=torch.float64)
    angle = 2 * math.pi * torch.outer(n, k) / d  # [d, m]
    weights = torch.full((m, ), 2.0 / d, dtype=torch.float64)
    weights[0] = 1.0 / d
    if d % 2 == 0:
        weights[-1] = 1.0 / d
    cos, sin = torch.cos(angle), torch.sin(angle)
    return (cos.float(), sin.float(), (cos.T * weights[:, None]).float(),
            (sin.T * weights[:, None]).float())


def mean_circular_convolution(xa: Tensor, xp: Tensor, d: int, by_matmul: bool = False) -> Tensor:
    """``irfft(mean_S(rfft(xa) * rfft(xp)))`` of rows ``xa``, ``xp`` [N, S, d] -> [N, d].

    ``by_matmul`` computes the DFTs as products with :func:`real_dft_matrices` (the same
    values up to rounding), which ONNX exporters support; ``torch.fft`` they do not.
    """
    if not by_matmul:
        fa = torch.fft.rfft(xa, n=d)  # [N, S, d // 2 + 1]
        fp = torch.fft.rfft(xp, n=d)
        return torch.fft.irfft((fa * fp).mean(dim=1), n=d)
    cos, sin, icos, isin = (t.to(xa.device) for t in real_dft_matrices(d))
    ra, ia = xa @ cos, -(xa @ sin)
    rp, ip = xp @ cos, -(xp @ sin)
    real = (ra * rp - ia * ip).mean(dim=1)  # [N, m]
    imag = (ra * ip + ia * rp).mean(dim=1)
    return real @ icos - imag @ isin


def tensor_sketch(a: Tensor, p: Tensor, sketch_a: Tensor, sketch_p: Tensor) -> Tensor:
    """Tensor sketch ``[M, d]`` of rows ``a`` [M, cA] and ``p`` [M, cP] (float32, no autocast)."""
    d = sketch_a.shape[1]
    with torch.autocast(device_type=a.device.type, enabled=False):
        fa = torch.fft.rfft(a.float() @ sketch_a, n=d)  # [M, d // 2 + 1]
        fp = torch.fft.rfft(p.float() @ sketch_p, n=d)
        return torch.fft.irfft(fa * fp, n=d)  # [M, d]


@MODELS.register_module()
class BilinearPooling(nn.Module):
    """Exact bilinear pooling: ``[N, cA, h, w] x [N, cP, h, w] -> [N, cP * cA]`` (Eq. 3, 5)."""

    def __init__(self, app_dim: int, part_dim: int) -> None:
        super().__init__()
        self.app_dim = app_dim
        self.part_dim = part_dim
        self.output_dim = app_dim * part_dim

    def forward(self, a: Tensor, p: Tensor) -> Tensor:
        """Mean outer product of the two maps, ``[N, cP * cA]``."""
        if a.shape[1] != self.app_dim or p.shape[1] != self.part_dim:
            raise ValueError(f'BilinearPooling({self.app_dim}, {self.part_dim}) got maps with '
                             f'{a.shape[1]} and {p.shape[1]} channels')
        return bilinear_pool(a, p)


@MODELS.register_module()
class CompactBilinearPooling(nn.Module):
    """Compact bilinear pooling by Tensor Sketch: ``[N, cA, h, w] x [N, cP, h, w] -> [N, d]``.

    The count sketch matrices are fixed (never trained) buffers drawn from numpy seeds
    (:func:`sketch_hashes`); they are saved in checkpoints, so a model keeps its sketch.
    The output is the mean over locations of the per-location sketches (the release sums
    and multiplies by d; the same after L2 normalisation). Because the sketch is linear in
    the outer product, the FFT products are averaged before the one inverse FFT. Under
    ``torch.onnx.export`` the DFTs are matrix products (:func:`mean_circular_convolution`).

    Args:
        app_dim: cA, channels of the first (appearance) map.
        part_dim: cP, channels of the second (part) map.
        output_dim: d, the sketch dimension (512 in the paper).
        seeds: numpy seeds ``(hash_a, sign_a, hash_p, sign_p)``; the release's are
            ``(1, 3, 5, 7)``.
    """

    def __init__(self,
                 app_dim: int,
                 part_dim: int,
                 output_dim: int = 512,
                 seeds: Sequence[int] = RELEASE_SEEDS) -> None:
        super().__init__()
        if len(seeds) != 4:
            raise ValueError(f'CompactBilinearPooling seeds must be 4 ints (hash_a, sign_a, '
                             f'hash_p, sign_p), got {seeds!r}')
        if output_dim < 1:
            raise ValueError(f'CompactBilinearPooling output_dim must be >= 1, got {output_dim}')
        self.app_dim = app_dim
        self.part_dim = part_dim
        self.output_dim = output_dim
        self.seeds = tuple(int(s) for s in seeds)
        h_a, s_a = sketch_hashes(app_dim, output_dim, self.seeds[0], self.seeds[1])
        h_p, s_p = sketch_hashes(part_dim, output_dim, self.seeds[2], self.seeds[3])
        self.register_buffer('sketch_a', count_sketch_matrix(h_a, s_a, output_dim))
        self.register_buffer('sketch_p', count_sketch_matrix(h_p, s_p, output_dim))

    def forward(self, a: Tensor, p: Tensor) -> Tensor:
        """Mean tensor sketch ``[N, d]`` (float32) of the per-location outer products."""
        _check_pair(a, p, 'CompactBilinearPooling')
        if a.shape[1] != self.app_dim or p.shape[1] != self.part_dim:
            raise ValueError(f'CompactBilinearPooling({self.app_dim}, {self.part_dim}) got '
                             f'maps with {a.shape[1]} and {p.shape[1]} channels')
        num, d = a.shape[0], self.output_dim
        with torch.autocast(device_type=a.device.type, enabled=False):
            rows_a = a.float().flatten(2).transpose(1, 2)  # [N, S, cA]
            rows_p = p.float().flatten(2).transpose(1, 2)  # [N, S, cP]
            # an ONNX export traces the DFTs as matrix products (torch.fft does not export)
            return mean_circular_convolution(
                rows_a @ self.sketch_a, rows_p @ self.sketch_p, d,
                by_matmul=torch.onnx.is_in_onnx_export()).reshape(num, d)  # [N, d]

    def extra_repr(self) -> str:
        """Short description for printing."""
        return f'{self.app_dim} x {self.part_dim} -> {self.output_dim}, seeds={self.seeds}'
