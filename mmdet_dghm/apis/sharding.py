"""Which process runs which slides: shares balanced by work, the same on every rank.

A slide's work is about its number of model windows, which ranges over orders of magnitude in
a cohort (a biopsy against a resection), so splitting the list into equal counts leaves one rank
running long after the others. :func:`balanced_shards` is greedy longest-processing-time
scheduling: slides by decreasing window count, each to the least loaded rank so far. Its
makespan is at most 4/3 of the optimum (Graham, 1969), usually within a few percent. Ties are
broken by the slides' keys and the ranks' indices, so every rank computes the same shares from
the same inputs without talking to the others.
"""
import heapq
from typing import List, Sequence

import numpy as np

__all__ = ['balanced_shards', 'shard_loads']


def balanced_shards(costs: Sequence[float], keys: Sequence[str],
                    num_shards: int) -> List[List[int]]:
    """Split items into ``num_shards`` shares of about equal total cost, deterministically.

    Items are visited by decreasing cost (equal costs by ascending key) and each goes to the
    share with the lowest total so far (equal totals: the lowest index).

    Args:
        costs (Sequence[float]): Non-negative cost of each item (e.g. its window count).
        keys (Sequence[str]): Unique name of each item (e.g. its output path), the tie-break.
        num_shards (int): Number of shares (the world size), positive.

    Returns:
        List[List[int]]: Per share, the indices of its items in ascending order (the input
        order); every index is in exactly one share.

    Raises:
        ValueError: For lengths that differ, duplicate keys, a negative or non-finite cost, or
            ``num_shards < 1``.
    """
    costs = np.asarray(costs, np.float64).reshape(-1)
    if len(costs) != len(keys):
        raise ValueError(f'balanced_shards: {len(costs)} costs but {len(keys)} keys')
    if num_shards < 1:
        raise ValueError(f'balanced_shards: num_shards={num_shards} must be positive')
    if len(set(keys)) != len(keys):
        raise ValueError('balanced_shards: keys must be unique')
    if not np.isfinite(costs).all() or (costs < 0).any():
        raise ValueError('balanced_shards: costs must be finite and non-negative')
    # Decreasing cost, then ascending key: sort by key first, then stably by cost.
    by_key = sorted(range(len(keys)), key=keys.__getitem__)
    order = [by_key[i] for i in np.argsort(-costs[by_key], kind='stable')]
    heap = [(0.0, shard) for shard in range(num_shards)]  # (load, index): ties by index
    shares: List[List[int]] = [[] for _ in range(num_shards)]
    for item in order:
        load, shard = heapq.heappop(heap)
        shares[shard].append(item)
        heapq.heappush(heap, (load + float(costs[item]), shard))
    return [sorted(share) for share in shares]


def shard_loads(costs: Sequence[float], shards: Sequence[Sequence[int]]) -> List[float]:
    """Total cost of each share of :func:`balanced_shards`."""
    costs = np.asarray(costs, np.float64).reshape(-1)
    return [float(costs[list(share)].sum()) for share in shards]
