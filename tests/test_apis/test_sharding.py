"""Balanced shares of a cohort: greedy longest-processing-time on window counts, the same on
every rank."""
import numpy as np
import pytest

from mmdet_dghm.apis import balanced_shards, shard_loads


def test_longest_first_to_the_least_loaded_share():
    costs = [10, 9, 8, 7, 6, 5, 4]
    keys = [f's{i}' for i in range(7)]
    # 10 -> 0; 9 -> 1; 8 -> 1 (9 < 10); 7 -> 0 (10 < 17); 6 -> 0 (17 = 17: lower index);
    # 5 -> 1 (17 < 23); 4 -> 1 (22 < 23).
    shards = balanced_shards(costs, keys, 2)
    assert shards == [[0, 3, 4], [1, 2, 5, 6]]
    assert shard_loads(costs, shards) == [23.0, 26.0]


def test_equal_costs_are_dealt_by_key_not_by_input_order():
    keys = ['d', 'c', 'b', 'a']
    # By key: a (index 3) -> 0, b (2) -> 1, c (1) -> 0, d (0) -> 1.
    assert balanced_shards([1, 1, 1, 1], keys, 2) == [[1, 3], [0, 2]]


def test_deterministic_whatever_the_order_of_the_slides():
    rng = np.random.default_rng(0)
    costs = rng.integers(1, 400, 60).tolist() + [50] * 10  # ties among the last ten
    keys = [f'case{i % 7}/slide{i:03d}' for i in range(70)]
    shards = balanced_shards(costs, keys, 4)
    assert sorted(i for s in shards for i in s) == list(range(70))
    assert shards == balanced_shards(costs, keys, 4)  # the same on every rank
    order = rng.permutation(70)
    shuffled = balanced_shards([costs[i] for i in order], [keys[i] for i in order], 4)
    as_keys = [sorted(keys[order[i]] for i in share) for share in shuffled]
    assert as_keys == [sorted(keys[i] for i in share) for share in shards]
    # Balance: LPT ends within one item of the mean (here far inside Graham's 4/3 bound).
    loads = shard_loads(costs, shards)
    assert max(loads) - min(loads) <= max(costs)
    assert max(loads) <= sum(costs) / 4 * 1.05


def test_more_shares_than_slides_and_errors():
    assert balanced_shards([3, 5], ['a', 'b'], 3) == [[1], [0], []]
    assert balanced_shards([], [], 2) == [[], []]
    with pytest.raises(ValueError, match='keys must be unique'):
        balanced_shards([1, 2], ['a', 'a'], 2)
    with pytest.raises(ValueError, match='non-negative'):
        balanced_shards([1, -2], ['a', 'b'], 2)
    with pytest.raises(ValueError, match='2 costs but 1 keys'):
        balanced_shards([1, 2], ['a'], 2)
    with pytest.raises(ValueError, match='num_shards=0 must be positive'):
        balanced_shards([1], ['a'], 0)
