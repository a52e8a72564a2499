"""The identity (PK) sampler: batches of P identities x K images, distributed-aware."""
from collections import defaultdict
from typing import Dict, Iterator, List, Optional, Sized

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmreidparts.registry import DATA_SAMPLERS


def dataset_pids(dataset: Sized) -> List[int]:
    """Person id of every sample of ``dataset`` (``get_pids()`` or ``get_data_info``)."""
    if hasattr(dataset, 'get_pids'):
        return list(dataset.get_pids())
    if hasattr(dataset, 'get_data_info'):
        return [int(dataset.get_data_info(i)['pid']) for i in range(len(dataset))]
    raise TypeError(f'IdentitySampler needs a dataset with get_pids() or get_data_info(i) '
                    f"returning a dict with 'pid', got {type(dataset).__name__}")


@DATA_SAMPLERS.register_module()
class IdentitySampler(Sampler):
    """Yield indices in blocks of ``P x K``: P distinct identities with K images each.

    ``batch_size`` must be the dataloader's (per-process) batch size, given again to the
    sampler in the config (``sampler=dict(type='IdentitySampler', num_instances=4,
    batch_size=64)`` with ``batch_size=64`` in the dataloader): then every batch is one
    block, ``P = batch_size // num_instances`` identities x ``K = num_instances`` images,
    laid out identity by identity. Identities with fewer than K images are sampled with
    replacement.

    One epoch has ``num_blocks = sum_id max(1, n_id // K) // P`` blocks (every image about
    once). Blocks are drawn like this: each identity's images are shuffled and cut into
    chunks of K (the remainder is dropped); P identities that still have chunks are picked
    at random and give one chunk each; when fewer than P identities have chunks left, all
    identities get fresh chunks. All processes draw the same blocks from
    ``(seed, epoch)``; process ``rank`` of ``world_size`` takes blocks ``rank, rank +
    world_size, ...``, so the shares are disjoint and equally long (``round_up=True``
    draws extra blocks to give every process ``ceil(num_blocks / world_size)``;
    ``round_up=False`` gives each ``num_blocks // world_size``).

    Args:
        dataset: dataset whose samples have a ``pid`` (person id).
        num_instances: K, images per identity in a batch.
        batch_size: the dataloader's batch size, a multiple of ``num_instances``.
        shuffle: draw at random; False gives a fixed order (identities in sorted order,
            their images in index order, repeated cyclically when fewer than K).
        seed: random seed shared by all processes; None = mmengine's
            ``sync_random_seed()``.
        round_up: pad the number of blocks to a multiple of the world size.
    """

    def __init__(self,
                 dataset: Sized,
                 num_instances: int = 4,
                 batch_size: Optional[int] = None,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        if batch_size is None:
            raise ValueError('IdentitySampler needs batch_size: pass the same batch_size as '
                             "the dataloader's, e.g. sampler=dict(type='IdentitySampler', "
                             'num_instances=4, batch_size=64)')
        if int(num_instances) != num_instances or num_instances < 1:
            raise ValueError(f'IdentitySampler num_instances must be a positive int, got '
                             f'{num_instances}')
        if int(batch_size) != batch_size or batch_size < num_instances \
                or batch_size % num_instances:
            raise ValueError(f'IdentitySampler batch_size ({batch_size}) must be a positive '
                             f'multiple of num_instances ({num_instances})')
        self.dataset = dataset
        self.num_instances = int(num_instances)
        self.batch_size = int(batch_size)
        self.num_ids_per_batch = self.batch_size // self.num_instances
        self.shuffle = shuffle
        self.round_up = round_up
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0

        self.index_per_pid: Dict[int, List[int]] = defaultdict(list)
        for idx, pid in enumerate(dataset_pids(dataset)):
            self.index_per_pid[int(pid)].append(idx)
        self.pids = sorted(self.index_per_pid)
        if len(self.pids) < self.num_ids_per_batch:
            raise ValueError(
                f'IdentitySampler: the dataset has {len(self.pids)} identities, fewer than '
                f'P = batch_size // num_instances = {self.batch_size} // '
                f'{self.num_instances} = {self.num_ids_per_batch}')
        chunks = sum(max(1, len(v) // self.num_instances) for v in self.index_per_pid.values())
        self.num_blocks = chunks // self.num_ids_per_batch
        if round_up:
            self.blocks_per_rank = -(-self.num_blocks // self.world_size)
        else:
            self.blocks_per_rank = self.num_blocks // self.world_size
        if self.blocks_per_rank == 0:
            raise ValueError(f'IdentitySampler: {self.num_blocks} block(s) of {self.batch_size} '
                             f'images cannot be shared by {self.world_size} processes')

    def _chunks(self, pid: int, rng: np.random.Generator) -> List[List[int]]:
        """Cut one identity's images into chunks of K (oversampled when fewer than K)."""
        k = self.num_instances
        idxs = list(self.index_per_pid[pid])
        if len(idxs) < k:
            if self.shuffle:
                idxs = rng.choice(idxs, size=k, replace=True).tolist()
            else:
                idxs = [idxs[i % len(idxs)] for i in range(k)]
        elif self.shuffle:
            idxs = rng.permutation(idxs).tolist()
        return [idxs[i:i + k] for i in range(0, len(idxs) - k + 1, k)]

    def _blocks(self, num: int) -> List[List[int]]:
        """Draw ``num`` blocks of P x K indices for the current epoch."""
        rng = np.random.default_rng([self.seed, self.epoch])
        pending: Dict[int, List[List[int]]] = {pid: [] for pid in self.pids}
        blocks: List[List[int]] = []
        while len(blocks) < num:
            available = [pid for pid in self.pids if pending[pid]]
            if len(available) < self.num_ids_per_batch:
                for pid in self.pids:
                    pending[pid].extend(self._chunks(pid, rng))
                available = self.pids
            if self.shuffle:
                chosen = rng.choice(len(available), self.num_ids_per_batch, replace=False)
                picked = [available[i] for i in chosen]
            else:
                picked = available[:self.num_ids_per_batch]
            blocks.append([idx for pid in picked for idx in pending[pid].pop(0)])
        return blocks

    def __iter__(self) -> Iterator[int]:
        """Indices of this process's blocks, block after block."""
        blocks = self._blocks(self.blocks_per_rank * self.world_size)
        for block in blocks[self.rank::self.world_size]:
            yield from block

    def __len__(self) -> int:
        """Number of indices per process and epoch."""
        return self.blocks_per_rank * self.batch_size

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch; the order depends only on ``(seed, epoch)``."""
        self.epoch = epoch
