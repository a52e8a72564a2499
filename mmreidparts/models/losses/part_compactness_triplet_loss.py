"""DROP's part-aware compactness triplet loss (PCT) over a parts embedding memory bank (PEMB).

The set ``E`` = the current batch (with its gradient) + the older entries of a FIFO bank
of detached part embeddings, their identities and part visibility. On ``E`` the person
distance is the visibility-weighted mean of the K per-part Euclidean distances
(:func:`part_averaged_distance`; pairs sharing no visible part are not mined) and one
batch-hard triplet is mined per anchor (:func:`batch_hard_triplet`), anchors over the
whole set ('all', the paper's ``[K, M*B, M*B]``) or the current batch only ('batch').
With no bank (M = 1) and every part visible this is BPBreID's part-averaged triplet loss.

Under distributed training the part embeddings, identities and visibility of every rank
are all-gathered (the local slice keeps its gradient), so the loss and the bank see the
global batch; the gradient is multiplied by the world size to undo DDP's averaging while
the logged value stays the loss of the global batch (drop.md 5).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from mmreidparts.registry import MODELS

from ..utils.distributed import all_gather_with_grad, dist_info, scale_grad
from .part_averaged_triplet_loss import part_averaged_distance, shared_parts
from .triplet_loss import batch_hard_triplet

ANCHOR_MODES = ('all', 'batch')


class PartsMemoryBank(nn.Module):
    """FIFO queue of ``size`` detached part embeddings ``[K, D]`` with identities and visibility.

    Each push replaces the oldest entries by the batch (a ring of ``size`` slots); only
    filled slots are ever read. The state lives in non-persistent buffers (not in
    checkpoints: a resumed run refills the bank in M iterations). The caller pushes only
    while training.

    Args:
        size: capacity ``M * B``; must be a multiple of (and at least) the batch pushed
            first, the global batch under DDP.
        num_parts: K.
        dim: embedding size D.
        key: the config key named in errors.
    """

    def __init__(self, size: int, num_parts: int, dim: int, key: str = 'bank_size') -> None:
        super().__init__()
        if not isinstance(size, int) or size < 1:
            raise ValueError(f'{key} must be a positive int (M * batch size), got {size!r}')
        self.size = size
        self.key = key
        self.batch_size: Optional[int] = None
        self.register_buffer('feats', torch.zeros(size, num_parts, dim), persistent=False)
        self.register_buffer('labels', torch.zeros(size, dtype=torch.long), persistent=False)
        self.register_buffer('visibility', torch.zeros(size, num_parts, dtype=torch.bool),
                             persistent=False)
        self.register_buffer('filled', torch.zeros(size, dtype=torch.bool), persistent=False)
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long), persistent=False)

    def check_batch(self, batch: int) -> None:
        """Stop unless a batch of ``batch`` entries fits the bank (see ``size``)."""
        if batch > self.size or (self.batch_size is None and self.size % batch):
            raise ValueError(
                f'{self.key}={self.size} does not fit the batch of {batch} part embeddings '
                '(the global batch under distributed training): the memory bank holds M '
                f'whole batches, so {self.key} must be a multiple of the batch size, e.g. '
                f'{4 * batch} for M=4')

    @torch.no_grad()
    def push(self, feats: Tensor, labels: Tensor, visibility: Tensor) -> Tensor:
        """Write a batch ``[B, K, D]``, ``[B]``, ``[B, K]`` over the oldest slots; the slots."""
        batch = feats.shape[0]
        self.check_batch(batch)
        if self.batch_size is None:
            self.batch_size = batch
        slots = (self.ptr + torch.arange(batch, device=self.ptr.device)) % self.size  # [B]
        self.feats[slots] = feats.detach().to(self.feats.dtype)
        self.labels[slots] = labels.reshape(-1).to(self.labels.device)
        self.visibility[slots] = visibility.bool()
        self.filled[slots] = True
        self.ptr.copy_((self.ptr + batch) % self.size)
        return slots

    def entries(self, exclude: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """The filled entries (but ``exclude``, slot indices): features, labels, visibility."""
        keep = self.filled.clone()
        if exclude is not None:
            keep[exclude] = False
        return self.feats[keep], self.labels[keep], self.visibility[keep]

    def extra_repr(self) -> str:
        """Short description for printing."""
        return f'size={self.size}, parts={self.feats.shape[1]}, dim={self.feats.shape[2]}'


def part_compactness_triplet(parts: Tensor,
                             labels: Tensor,
                             visibility: Optional[Tensor] = None,
                             margin: float = 0.3,
                             num_anchors: Optional[int] = None) -> Tensor:
    """PCT loss on a set of part embeddings ``[N, K, D]`` with labels ``[N]``.

    Args:
        parts: the set E (current batch first when ``num_anchors`` is given).
        labels: identities ``[N]``.
        visibility: ``[N, K]`` (bool or 0/1), None = every part visible.
        margin: alpha.
        num_anchors: only the first ``num_anchors`` rows are anchors (XBM-style
            'batch' mode); None = every row.

    Returns:
        Mean over the anchors that have a comparable positive and negative of
        ``[d_ap - d_an + margin]_+``; 0 (connected to the graph) when there is none.
    """
    dist = part_averaged_distance(parts, visibility)  # [N, N]
    pair_mask = None if visibility is None else shared_parts(visibility) > 0  # [N, N]
    if num_anchors is not None:
        anchors = torch.arange(parts.shape[0], device=parts.device) < num_anchors  # [N]
        rows = anchors[:, None].expand_as(dist)
        pair_mask = rows if pair_mask is None else pair_mask & rows
    loss, _ = batch_hard_triplet(dist, labels, margin, reduction='mean', pair_mask=pair_mask)
    return loss


@MODELS.register_module()
class PartCompactnessTripletLoss(nn.Module):
    """Part-aware compactness triplet loss (DROP) with its parts embedding memory bank.

    Args:
        num_parts: K.
        embed_dim: D of the part embeddings.
        margin: alpha (0.3).
        bank_size: PEMB capacity ``M * B`` (4 x 64 = 256), a multiple of the global batch;
            None = no bank (M = 1).
        anchor_mode: 'all' (anchors over the whole bank, the paper) or 'batch' (the current
            batch only).
        loss_weight: the factor of the loss.
    """

    def __init__(self,
                 num_parts: int = 8,
                 embed_dim: int = 512,
                 margin: float = 0.3,
                 bank_size: Optional[int] = 256,
                 anchor_mode: str = 'all',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if margin < 0:
            raise ValueError(f'PartCompactnessTripletLoss margin must be >= 0, got {margin}')
        if anchor_mode not in ANCHOR_MODES:
            raise ValueError(f'PartCompactnessTripletLoss anchor_mode must be one of '
                             f'{ANCHOR_MODES}, got {anchor_mode!r}')
        self.num_parts = num_parts
        self.embed_dim = embed_dim
        self.margin = margin
        self.anchor_mode = anchor_mode
        self.loss_weight = loss_weight
        self.bank = None if bank_size is None else PartsMemoryBank(
            bank_size, num_parts, embed_dim, key='part_triplet_loss.bank_size')

    def forward(self, parts: Tensor, labels: Tensor,
                visibility: Optional[Tensor] = None) -> Tensor:
        """Loss of part embeddings ``[B, K, D]`` (pre-BN) with labels ``[B]`` and visibility.

        Training mode: the global batch is enqueued into the bank and the loss runs over
        the bank; eval mode: the bank is neither read nor written.
        """
        if parts.dim() != 3 or parts.shape[1:] != (self.num_parts, self.embed_dim):
            raise ValueError(f'PartCompactnessTripletLoss expects part embeddings [B, '
                             f'{self.num_parts}, {self.embed_dim}] (num_parts, embed_dim), '
                             f'got {tuple(parts.shape)}')
        _, world = dist_info()
        if visibility is None:
            visibility = parts.new_ones(parts.shape[:2], dtype=torch.bool)
        all_parts = all_gather_with_grad(parts)  # [B_global, K, D]
        all_labels = all_gather_with_grad(labels.reshape(-1))  # [B_global]
        all_vis = all_gather_with_grad(visibility.bool())  # [B_global, K]
        num = all_parts.shape[0]
        if self.bank is not None and self.training:
            written = self.bank.push(all_parts, all_labels, all_vis)
            old_parts, old_labels, old_vis = self.bank.entries(exclude=written)
            all_parts = torch.cat([all_parts, old_parts.to(all_parts.dtype)], dim=0)
            all_labels = torch.cat([all_labels, old_labels], dim=0)
            all_vis = torch.cat([all_vis, old_vis], dim=0)
        anchors = num if self.anchor_mode == 'batch' else None
        loss = part_compactness_triplet(all_parts, all_labels, all_vis, self.margin, anchors)
        return self.loss_weight * scale_grad(loss, world)

    def extra_repr(self) -> str:
        """Short description for printing."""
        return (f'margin={self.margin}, anchor_mode={self.anchor_mode!r}, '
                f'loss_weight={self.loss_weight}')
