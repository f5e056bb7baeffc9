"""Mini-batches with a fixed share of positive tiles (paper Sec. 4.2: 1:3 positive to negative)."""
from typing import Iterator, List, Optional

import numpy as np
from mmdet.registry import DATA_SAMPLERS
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import BatchSampler, Sampler


def positives_per_batch(batch_size: int, pos_fraction: float) -> int:
    """Positive slots of a batch: ``round(batch_size * pos_fraction)`` (paper: 2 of 8)."""
    return int(round(batch_size * pos_fraction))


def shard(indices: np.ndarray, rng: np.random.Generator, rank: int,
          world_size: int) -> np.ndarray:
    """This rank's part of a shuffled index pool: disjoint across ranks, union is the pool.

    Every rank draws the same permutation (same generator state), then keeps every
    ``world_size``-th element starting at ``rank``.
    """
    return rng.permutation(indices)[rank::world_size]


def cycled_stream(pool: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """``length`` draws from ``pool``: consecutive fresh permutations, so every index appears
    once before any repeats (the minority class is oversampled evenly)."""
    if length == 0:
        return np.zeros(0, dtype=np.int64)
    cycles = -(-length // len(pool))
    return np.concatenate([rng.permutation(pool) for _ in range(cycles)])[:length]


@DATA_SAMPLERS.register_module()
class PosNegBatchSampler(BatchSampler):
    """Compose each mini-batch of ``round(batch_size * pos_fraction)`` positive tiles (at least
    one non-ignored box) and negative tiles for the rest.

    Built by mmengine's ``Runner.build_dataloader`` from
    ``batch_sampler=dict(type='PosNegBatchSampler', pos_fraction=0.25)``, which passes the
    built ``sampler`` and ``batch_size``; the wrapped sampler only supplies the dataset, the
    seed and the epoch (``DistSamplerSeedHook`` and the iteration loop call its ``set_epoch``;
    for a sampler without an epoch, such as ``InfiniteSampler``, the count of passes), its
    order is not used. The dataset must provide ``positive_indices()``.

    Distributed: the positive and negative pools are shuffled with the shared seed and dealt
    to ranks (``shard``), so shards are disjoint; every rank yields the same number of batches.
    An epoch holds ``len(dataset) // (batch_size * world_size)`` batches per rank (at least
    one); the smaller pool is cycled through fresh permutations when the ratio needs more of it.
    Deterministic for a given seed, epoch, rank and world size.

    Batches are always full (``drop_last`` does not apply).

    With ``infinite=True`` the sampler never ends: it yields epoch after epoch (the wrapped
    sampler's epoch first, then its successors), the batches a finite sampler gives when the
    loop restarts it with the next epoch each time. Use it under an ``IterBasedTrainLoop``:
    mmengine's loop pauses 2 s every time a finite data loader runs out, which on a small
    data set costs more than the training steps. Never with an ``EpochBasedTrainLoop``, whose
    epochs end when the loader does.

    Args:
        sampler (Sampler): The built sampler; ``sampler.dataset`` is used.
        batch_size (int): Tiles per batch on each rank.
        pos_fraction (float): Share of positive tiles in ``[0, 1]``. Defaults to 0.25 (1:3).
        seed (int, optional): Shuffle seed; defaults to the sampler's ``seed`` or a seed
            synchronised across ranks.
        infinite (bool): Yield epochs back to back without end. Defaults to False.

    Raises:
        ValueError: If a pool needed by the ratio is empty on some rank.
    """

    def __init__(self,
                 sampler: Sampler,
                 batch_size: int,
                 pos_fraction: float = 0.25,
                 seed: Optional[int] = None,
                 infinite: bool = False) -> None:
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f'batch_size={batch_size} must be a positive int')
        if not 0.0 <= pos_fraction <= 1.0:
            raise ValueError(f'pos_fraction={pos_fraction} must be in [0, 1]')
        dataset = getattr(sampler, 'dataset', None)
        if dataset is None or not hasattr(dataset, 'positive_indices'):
            raise ValueError(
                'PosNegBatchSampler needs sampler.dataset with positive_indices() '
                f'(got {type(dataset).__name__})')
        self.sampler = sampler
        self.batch_size = batch_size
        self.pos_fraction = pos_fraction
        self.infinite = infinite
        self.num_pos = positives_per_batch(batch_size, pos_fraction)
        self.rank, self.world_size = get_dist_info()
        if seed is None:
            seed = getattr(sampler, 'seed', None)
        self.seed = sync_random_seed() if seed is None else seed
        self._epoch = 0
        positive = np.zeros(len(dataset), dtype=bool)
        positive[dataset.positive_indices()] = True
        self._positives = np.flatnonzero(positive)
        self._negatives = np.flatnonzero(~positive)
        self._check_pools()

    def _check_pools(self) -> None:
        for name, pool, slots in (('positive', self._positives, self.num_pos),
                                  ('negative', self._negatives,
                                   self.batch_size - self.num_pos)):
            if slots and len(pool) < self.world_size:
                raise ValueError(
                    f'PosNegBatchSampler: {slots} {name} tiles per batch requested but the '
                    f'dataset has {len(pool)} {name} tiles for {self.world_size} rank(s)')

    @property
    def epoch(self) -> int:
        """The wrapped sampler's epoch when it tracks one (mmengine hooks set it there)."""
        return getattr(self.sampler, 'epoch', self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch here and on the wrapped sampler."""
        self._epoch = epoch
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return max(1, len(self.sampler.dataset) // (self.batch_size * self.world_size))

    def __iter__(self) -> Iterator[List[int]]:
        epoch = self.epoch
        if self.infinite:
            while True:
                yield from self.epoch_batches(epoch)
                epoch += 1
        if not hasattr(self.sampler, 'epoch'):
            # mmengine's InfiniteSampler keeps no epoch and ignores set_epoch, and the
            # iteration loop restarts this sampler on exhaustion: count the passes so each
            # restart draws new batches.
            self._epoch += 1
        yield from self.epoch_batches(epoch)

    def epoch_batches(self, epoch: int) -> Iterator[List[int]]:
        """The batches of one epoch on this rank (``len(self)`` of them)."""
        shared = np.random.default_rng([self.seed, epoch])
        local = np.random.default_rng([self.seed, epoch, self.rank, self.world_size])
        num_batches = len(self)
        num_neg = self.batch_size - self.num_pos
        pos = cycled_stream(shard(self._positives, shared, self.rank, self.world_size),
                            num_batches * self.num_pos, local).reshape(num_batches, self.num_pos)
        neg = cycled_stream(shard(self._negatives, shared, self.rank, self.world_size),
                            num_batches * num_neg, local).reshape(num_batches, num_neg)
        for batch in np.concatenate([pos, neg], axis=1):
            yield batch.tolist()
