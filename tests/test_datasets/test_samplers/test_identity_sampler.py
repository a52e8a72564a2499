"""Tests of the identity (PK) sampler."""
import pytest
from torch.utils.data import DataLoader

from mmreidparts.datasets.samplers import IdentitySampler
from mmreidparts.datasets.samplers import identity_sampler as module
from mmreidparts.registry import DATA_SAMPLERS


class PidDataset:
    """Index i has person id pids[i]."""

    def __init__(self, pids):
        self.pids = list(pids)

    def __len__(self):
        return len(self.pids)

    def __getitem__(self, i):
        return i

    def get_data_info(self, i):
        return dict(pid=self.pids[i])


def _blocks(indices, size):
    return [indices[i:i + size] for i in range(0, len(indices), size)]


def _check_block(block, pids, k):
    """P distinct identities, each K consecutive indices of that identity."""
    groups = _blocks([pids[i] for i in block], k)
    assert all(len(set(g)) == 1 for g in groups)
    assert len({g[0] for g in groups}) == len(groups)


def test_every_batch_is_p_ids_by_k_images():
    # ids 0..5 with 1, 2, 4, 6, 9, 3 images: ids with fewer than K=4 are oversampled.
    pids = [p for p, n in enumerate([1, 2, 4, 6, 9, 3]) for _ in range(n)]
    sampler = IdentitySampler(PidDataset(pids), num_instances=4, batch_size=12, seed=0)
    # chunks: 1 + 1 + 1 + 1 + 2 + 1 = 7 -> 7 // 3 = 2 blocks of 12.
    assert sampler.num_blocks == 2 and len(sampler) == 24
    for epoch in range(5):
        sampler.set_epoch(epoch)
        indices = list(sampler)
        assert len(indices) == 24
        for block in _blocks(indices, 12):
            _check_block(block, pids, 4)
    # the single image of id 0 fills its whole chunk when id 0 is drawn.
    seen = [b for e in range(10) for b in _blocks(_epoch(sampler, e), 4) if pids[b[0]] == 0]
    assert seen and all(b == [0, 0, 0, 0] for b in seen)


def _epoch(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


def test_dataloader_batches():
    pids = [p for p in range(6) for _ in range(4)]
    sampler = IdentitySampler(PidDataset(pids), num_instances=2, batch_size=6, seed=3)
    loader = DataLoader(PidDataset(pids), batch_size=6, sampler=sampler)
    batches = [b.tolist() for b in loader]
    assert len(batches) == len(sampler) // 6 == 12 // 3  # 12 chunks of 2, P = 3
    for b in batches:
        _check_block(b, pids, 2)


def test_fixed_order_without_shuffle():
    pids = [p for p in range(4) for _ in range(4)]  # index = 4 * pid + j
    sampler = IdentitySampler(PidDataset(pids), num_instances=2, batch_size=4,
                              shuffle=False, seed=0)
    assert list(sampler) == [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]


def test_same_order_for_same_epoch_new_order_next_epoch():
    pids = [p for p in range(10) for _ in range(5)]
    a = IdentitySampler(PidDataset(pids), num_instances=4, batch_size=8, seed=7)
    b = IdentitySampler(PidDataset(pids), num_instances=4, batch_size=8, seed=7)
    assert _epoch(a, 0) == _epoch(b, 0) == _epoch(a, 0)
    assert _epoch(a, 1) != _epoch(a, 0)
    c = IdentitySampler(PidDataset(pids), num_instances=4, batch_size=8, seed=8)
    assert _epoch(c, 0) != _epoch(a, 0)


def test_two_ranks_get_disjoint_equal_shares(monkeypatch):
    pids = [p for p in range(8) for _ in range(4)]  # 8 chunks of K=4, P=2 -> 4 blocks
    shares = []
    for rank in range(2):
        monkeypatch.setattr(module, 'get_dist_info', lambda r=rank: (r, 2))
        sampler = IdentitySampler(PidDataset(pids), num_instances=4, batch_size=8, seed=5)
        sampler.set_epoch(3)
        shares.append(list(sampler))
        assert len(sampler) == 16 and len(shares[-1]) == 16
        for block in _blocks(shares[-1], 8):
            _check_block(block, pids, 4)
    assert not set(shares[0]) & set(shares[1])
    assert sorted(shares[0] + shares[1]) == list(range(32))  # every image exactly once
    # the shares interleave the blocks of a single-process run with the same seed
    monkeypatch.setattr(module, 'get_dist_info', lambda: (0, 1))
    single = IdentitySampler(PidDataset(pids), num_instances=4, batch_size=8, seed=5)
    single.set_epoch(3)
    blocks = _blocks(list(single), 8)
    assert shares[0] == blocks[0] + blocks[2] and shares[1] == blocks[1] + blocks[3]


def test_round_up(monkeypatch):
    pids = [p for p in range(10) for _ in range(4)]  # 10 chunks, P=2 -> 5 blocks
    monkeypatch.setattr(module, 'get_dist_info', lambda: (1, 2))
    up = IdentitySampler(PidDataset(pids), num_instances=4, batch_size=8, seed=0)
    down = IdentitySampler(PidDataset(pids), num_instances=4, batch_size=8, seed=0,
                           round_up=False)
    assert (len(up), len(list(up))) == (24, 24)
    assert (len(down), len(list(down))) == (16, 16)


def test_build_and_validation():
    pids = [p for p in range(4) for _ in range(2)]
    sampler = DATA_SAMPLERS.build(
        dict(type='IdentitySampler', num_instances=2, batch_size=4),
        default_args=dict(dataset=PidDataset(pids), seed=1))
    assert isinstance(sampler, IdentitySampler) and sampler.num_ids_per_batch == 2
    with pytest.raises(ValueError, match='needs batch_size'):
        IdentitySampler(PidDataset(pids), num_instances=2)
    with pytest.raises(ValueError, match=r'batch_size \(6\).*num_instances \(4\)'):
        IdentitySampler(PidDataset(pids), num_instances=4, batch_size=6)
    with pytest.raises(ValueError, match='4 identities, fewer than P'):
        IdentitySampler(PidDataset(pids), num_instances=1, batch_size=5)
    assert sampler.index_per_pid == {0: [0, 1], 1: [2, 3], 2: [4, 5], 3: [6, 7]}
