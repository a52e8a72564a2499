"""Under DDP the PCT loss and its memory bank see the global batch (drop.md 5).

Two gloo processes each hold half of a batch; a linear layer wrapped in
DistributedDataParallel maps inputs to part embeddings. For two iterations (the second
one reads the bank filled by the first) every rank's loss equals the single-process loss
of the whole batch, and the DDP-averaged gradient of the layer equals the single-process
gradient: the all-gather keeps the local slice differentiable and the world-size scaling
undoes DDP's averaging.
"""
import json
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from mmreidparts.models.losses import PartCompactnessTripletLoss

K, D, B = 3, 4, 8  # parts, dims, global batch (2 ids x 4 images per rank)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _data(step: int):
    """Inputs [B, 6], labels [B] and part visibility [B, K] of one global batch."""
    gen = torch.Generator().manual_seed(100 + step)
    inputs = torch.randn(B, 6, generator=gen)
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]) + 2 * step
    vis = torch.rand(B, K, generator=gen) > 0.3
    return inputs, labels, vis


def _layer() -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(6, K * D)


def _run(layer, loss_fn, rows):
    """Loss and layer gradient of two iterations on the given rows of each batch."""
    results = []
    for step in range(2):
        inputs, labels, vis = _data(step)
        layer.zero_grad()
        parts = layer(inputs[rows]).view(-1, K, D)
        loss = loss_fn(parts, labels[rows], visibility=vis[rows])
        loss.backward()
        weight = layer.module.weight if hasattr(layer, 'module') else layer.weight
        results.append(dict(loss=float(loss), grad=weight.grad.flatten().tolist()))
    return results


def _worker(rank, world_size, port, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=world_size)
    layer = nn.parallel.DistributedDataParallel(_layer())
    loss_fn = PartCompactnessTripletLoss(num_parts=K, embed_dim=D, bank_size=2 * B)
    half = B // world_size
    results = _run(layer, loss_fn, slice(rank * half, (rank + 1) * half))
    results.append(dict(bank_filled=int(loss_fn.bank.filled.sum()),
                        bank_labels=loss_fn.bank.labels.tolist()))
    with open(f'{out_dir}/rank{rank}.json', 'w') as f:
        json.dump(results, f)
    dist.barrier()
    dist.destroy_process_group()


def test_two_process_pct_equals_single_process_on_the_global_batch(tmp_path):
    world_size = 2
    mp.spawn(_worker, args=(world_size, _free_port(), str(tmp_path)), nprocs=world_size,
             join=True)
    single_fn = PartCompactnessTripletLoss(num_parts=K, embed_dim=D, bank_size=2 * B)
    single = _run(_layer(), single_fn, slice(0, B))
    assert single[1]['loss'] > 0  # the bank's older batch takes part at the second step
    assert all(max(abs(g) for g in r['grad']) > 1e-3 for r in single)
    for rank in range(world_size):
        with open(tmp_path / f'rank{rank}.json') as f:
            result = json.load(f)
        bank = result.pop()
        # both ranks' banks hold both global batches, in the global order
        assert bank['bank_filled'] == 2 * B
        assert bank['bank_labels'] == single_fn.bank.labels.tolist()
        for got, ref in zip(result, single):
            assert abs(got['loss'] - ref['loss']) < 1e-5
            assert torch.allclose(torch.tensor(got['grad']), torch.tensor(ref['grad']),
                                  atol=1e-6)
