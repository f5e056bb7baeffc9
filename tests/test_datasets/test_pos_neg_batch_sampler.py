"""PosNegBatchSampler: batch composition, determinism, epochs and rank shards."""
from unittest import mock

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler, InfiniteSampler

from mmdet_dghm.datasets import PosNegBatchSampler
from mmdet_dghm.datasets.samplers.pos_neg_batch_sampler import cycled_stream, shard

MODULE = 'mmdet_dghm.datasets.samplers.pos_neg_batch_sampler'


class FakeTiles:
    """``size`` tiles of which ``positives`` are positive (no pixels, no annotations)."""

    def __init__(self, size: int, positives):
        self.size = size
        self.positives = np.asarray(positives, dtype=np.int64)

    def __len__(self) -> int:
        return self.size

    def positive_indices(self) -> np.ndarray:
        return self.positives


def make(dataset, batch_size=8, rank=0, world_size=1, **kwargs) -> PosNegBatchSampler:
    with mock.patch('mmengine.dataset.sampler.get_dist_info', return_value=(rank, world_size)), \
            mock.patch(f'{MODULE}.get_dist_info', return_value=(rank, world_size)):
        sampler = DefaultSampler(dataset, shuffle=True, seed=0)
        return PosNegBatchSampler(sampler, batch_size, **kwargs)


POSITIVES = list(range(0, 200, 10))  # 20 positive tiles of 200


def test_every_batch_holds_the_ratio():
    dataset = FakeTiles(200, POSITIVES)
    sampler = make(dataset, batch_size=8, pos_fraction=0.25)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 25
    positive = set(POSITIVES)
    for batch in batches:
        assert len(batch) == 8 and sum(i in positive for i in batch) == 2
    # 50 positive slots over 20 positives: every positive drawn before any repeats.
    counts = np.bincount([i for b in batches for i in b if i in positive], minlength=200)
    assert sorted(set(counts[POSITIVES])) == [2, 3]
    # 150 negative slots over 180 negatives: none repeated.
    negatives = [i for b in batches for i in b if i not in positive]
    assert len(negatives) == len(set(negatives)) == 150


@pytest.mark.parametrize('batch_size,fraction,expected', [(4, 0.25, 1), (6, 0.25, 2),
                                                          (8, 0.0, 0), (8, 1.0, 8)])
def test_positive_slots(batch_size, fraction, expected):
    sampler = make(FakeTiles(200, POSITIVES), batch_size=batch_size, pos_fraction=fraction)
    for batch in sampler:
        assert sum(i in set(POSITIVES) for i in batch) == expected


def test_deterministic_per_seed_and_epoch():
    dataset = FakeTiles(200, POSITIVES)
    first, again = make(dataset, seed=3), make(dataset, seed=3)
    assert list(first) == list(again)
    assert list(first) != list(make(dataset, seed=4))
    epoch0 = list(first)
    first.set_epoch(1)
    assert first.sampler.epoch == 1 and first.epoch == 1
    assert list(first) != epoch0
    # mmengine's DistSamplerSeedHook sets the epoch on the wrapped sampler only.
    again.sampler.set_epoch(1)
    assert list(again) == list(first)


def test_restarts_draw_new_batches_with_an_epochless_sampler():
    dataset = FakeTiles(200, POSITIVES)
    with mock.patch(f'{MODULE}.get_dist_info', return_value=(0, 1)):
        sampler = PosNegBatchSampler(InfiniteSampler(dataset, seed=0), 8)
        again = PosNegBatchSampler(InfiniteSampler(dataset, seed=0), 8)
    passes = [list(sampler) for _ in range(3)]
    assert passes[0] != passes[1] != passes[2]
    assert [list(again) for _ in range(3)] == passes


def test_two_ranks_get_disjoint_shards_of_equal_length():
    dataset = FakeTiles(200, POSITIVES)
    ranks = [make(dataset, rank=r, world_size=2, seed=5) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1]) == 200 // 16
    drawn = [{i for batch in sampler for i in batch} for sampler in ranks]
    assert not drawn[0] & drawn[1]
    for sampler in ranks:
        for batch in sampler:
            assert sum(i in set(POSITIVES) for i in batch) == 2
    # Positives are few enough that each rank cycles through its whole shard of 10.
    assert len(drawn[0] & set(POSITIVES)) == len(drawn[1] & set(POSITIVES)) == 10


def test_missing_class_is_an_error():
    with pytest.raises(ValueError, match='2 positive tiles per batch .* has 0 positive'):
        make(FakeTiles(50, []), batch_size=8)
    with pytest.raises(ValueError, match='6 negative tiles per batch .* has 1 negative'):
        make(FakeTiles(3, [0, 1]), batch_size=8, world_size=2)
    with pytest.raises(ValueError, match='positive_indices'):
        PosNegBatchSampler(DefaultSampler(list(range(5)), seed=0), 2)
    assert len(list(make(FakeTiles(50, []), batch_size=8, pos_fraction=0.0))) == 6


def test_helpers():
    rng = np.random.default_rng(0)
    parts = [shard(np.arange(10), np.random.default_rng(1), r, 3) for r in range(3)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(10))
    stream = cycled_stream(np.array([4, 5, 6]), 7, rng)
    assert sorted(stream[:3].tolist()) == [4, 5, 6] and sorted(stream[3:6].tolist()) == [4, 5, 6]
    assert len(stream) == 7 and cycled_stream(np.array([1]), 0, rng).shape == (0,)


def test_infinite_sampler_yields_the_finite_epochs_back_to_back():
    import itertools
    dataset = FakeTiles(200, POSITIVES)
    finite = make(dataset, batch_size=8)
    per_epoch = len(finite)
    expected = []
    for epoch in range(3):  # what the loop gets restarting the finite one with set_epoch
        finite.set_epoch(epoch)
        expected += list(finite)
    endless = make(dataset, batch_size=8, infinite=True)
    # Past any number of epochs without a StopIteration, in the same order.
    assert list(itertools.islice(iter(endless), 3 * per_epoch)) == expected
    assert len(list(itertools.islice(iter(endless), 10 * per_epoch + 1))) == 10 * per_epoch + 1
