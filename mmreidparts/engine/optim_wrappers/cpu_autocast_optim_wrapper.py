"""Mixed precision on CPU: the training forward under ``torch.autocast('cpu', bfloat16)``."""
import os
from contextlib import contextmanager
from typing import Tuple

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from mmreidparts.registry import OPTIM_WRAPPERS

CPU_AUTOCAST_DTYPES = ('bfloat16', 'float16')
# set to 1 to keep bfloat16 autocast on a CPU without bfloat16 kernels (for measurements)
FORCE_CPU_AMP_ENV = 'MMREIDPARTS_FORCE_CPU_AMP'


def cpu_bfloat16_supported() -> bool:
    """Whether oneDNN has bfloat16 kernels on this CPU (AVX512-BF16, AMX or AVX512 core).

    Without them (an AVX2-only CPU) PyTorch runs bfloat16 convolutions through reference
    kernels, one to two orders of magnitude slower than float32.
    """
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_cpu_amp(requested: bool) -> Tuple[bool, str]:
    """Whether a CPU run asked to use bfloat16 autocast should, and why not if not.

    Returns ``(use_amp, message)``; the message is empty unless the request is dropped:
    on a CPU without bfloat16 kernels autocast is refused (float32 instead) unless
    ``$MMREIDPARTS_FORCE_CPU_AMP=1``.
    """
    if not requested:
        return False, ''
    if cpu_bfloat16_supported():
        return True, ''
    capability = torch.backends.cpu.get_cpu_capability()
    if os.environ.get(FORCE_CPU_AMP_ENV, '') == '1':
        return True, (f'--amp: this CPU ({capability}) has no bfloat16 kernels; bfloat16 '
                      f'autocast kept because {FORCE_CPU_AMP_ENV}=1 (expect it to be much '
                      'slower than float32)')
    return False, (f'--amp ignored: this CPU ({capability}) has no bfloat16 kernels, so '
                   'bfloat16 autocast would run its convolutions one to two orders of '
                   f'magnitude slower than float32; training in float32 (set '
                   f'{FORCE_CPU_AMP_ENV}=1 to keep autocast)')


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
