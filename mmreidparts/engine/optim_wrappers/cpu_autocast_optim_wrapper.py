"""Mixed precision on CPU: the training forward under ``torch.autocast('cpu', bfloat16)``."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from mmreidparts.registry import OPTIM_WRAPPERS

CPU_AUTOCAST_DTYPES = ('bfloat16', 'float16')


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """An :class:`OptimWrapper` whose forward pass runs under CPU autocast.

    mmengine's ``AmpOptimWrapper`` needs a GPU (or NPU/MLU). On a CPU with bfloat16
    support, autocast runs convolutions and matrix products in bfloat16 while the weights,
    the gradients and the optimizer state stay float32. bfloat16 has float32's exponent
    range, so no loss scaling is needed. ``tools/train.py --amp`` picks this wrapper when
    no CUDA device is present.

    Args:
        dtype: 'bfloat16' (default) or 'float16' (CPU float16 autocast, no loss scaling).
        **kwargs: the arguments of :class:`OptimWrapper`.
    """

    def __init__(self, *args, dtype: str = 'bfloat16', **kwargs) -> None:
        if dtype not in CPU_AUTOCAST_DTYPES:
            raise ValueError(f'CPUAutocastOptimWrapper: dtype must be one of '
                             f'{CPU_AUTOCAST_DTYPES}, got {dtype!r}')
        super().__init__(*args, **kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """The parent's context (gradient accumulation) plus CPU autocast."""
        with super().optim_context(model), torch.autocast(device_type='cpu',
                                                          dtype=self.cast_dtype):
            yield
