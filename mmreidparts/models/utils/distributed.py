"""Distributed helpers of the losses: an all-gather that keeps the local gradient."""
from typing import Tuple

import torch
import torch.distributed as dist
from torch import Tensor


def dist_info() -> Tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` outside one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x [n_r, ...]`` of every rank along dim 0 (``x`` when not distributed).

    The slice of the calling rank is ``x`` itself, so the gradient flows into the local
    tensor; the other ranks' slices are constants. Ranks may hold different numbers of
    rows (they are padded for the collective and trimmed after). Bool tensors are
    gathered as uint8 and come back as bool.
    """
    rank, world = dist_info()
    if world == 1:
        return x
    is_bool = x.dtype == torch.bool
    data = x.detach().to(torch.uint8) if is_bool else x.detach()
    count = torch.tensor([data.shape[0]], device=data.device, dtype=torch.long)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    sizes = [int(c.item()) for c in counts]
    longest = max(sizes)
    if data.shape[0] < longest:
        pad = data.new_zeros((longest - data.shape[0], ) + tuple(data.shape[1:]))
        data = torch.cat([data, pad], dim=0)
    chunks = [torch.empty_like(data) for _ in range(world)]
    dist.all_gather(chunks, data.contiguous())
    parts = [c[:n] for c, n in zip(chunks, sizes)]
    if is_bool:
        parts = [p.bool() for p in parts]
    parts[rank] = x  # the local slice keeps its graph
    return torch.cat(parts, dim=0)


def scale_grad(x: Tensor, factor: float) -> Tensor:
    """``x`` with its value unchanged and its gradient multiplied by ``factor``.

    ``factor * x - (factor - 1) * x.detach()``: a loss computed identically on every rank
    from all-gathered inputs, scaled by the world size, undoes DDP's averaging of the
    gradients while logging the loss's true value.
    """
    if factor == 1:
        return x
    return factor * x - (factor - 1) * x.detach()
