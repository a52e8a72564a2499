"""Global pooling of feature maps: average, max and generalised mean (GeM)."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn


class GeneralizedMeanPooling(nn.Module):
    """GeM pooling: ``(mean_{h,w} x^p)^(1/p)`` over the clamped map (Radenovic et al.).

    Args:
        p: the initial exponent (3 in the paper; 1 = average, large = max).
        eps: lower clamp of the input, keeps ``x^p`` defined.
        learnable: whether ``p`` is trained.
    """

    def __init__(self, p: float = 3.0, eps: float = 1e-6, learnable: bool = True) -> None:
        super().__init__()
        if p <= 0:
            raise ValueError(f'GeM exponent p must be > 0, got {p}')
        self.p = nn.Parameter(torch.tensor(float(p)), requires_grad=learnable)
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        """Pool ``[N, C, H, W]`` to ``[N, C]``."""
        pooled = x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3))  # [N, C]
        return pooled.pow(1.0 / self.p)


class GlobalPool(nn.Module):
    """Pool a ``[N, C, H, W]`` map to ``[N, C]`` by 'avg', 'max' or 'gem'."""

    MODES = ('avg', 'max', 'gem')

    def __init__(self, mode: str = 'avg') -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f'pool must be one of {self.MODES}, got {mode!r}')
        self.mode = mode
        self.gem = GeneralizedMeanPooling() if mode == 'gem' else None

    def forward(self, x: Tensor) -> Tensor:
        """Pool ``[N, C, H, W]`` to ``[N, C]``; ``[N, C]`` passes through."""
        if x.dim() == 2:
            return x
        if x.dim() != 4:
            raise ValueError(f'GlobalPool expects [N, C, H, W] or [N, C], got {tuple(x.shape)}')
        if self.mode == 'avg':
            return F.adaptive_avg_pool2d(x, 1).flatten(1)
        if self.mode == 'max':
            return F.adaptive_max_pool2d(x, 1).flatten(1)
        return self.gem(x)

    def extra_repr(self) -> str:
        """Short description for printing."""
        return f'mode={self.mode!r}'
