"""Paired comparisons of two losses over runs sharing seed and fold, as pure functions.

Runs of two losses with the same seed and fold share data, box removal and initialisation, so
their difference d_i = a_i - b_i removes the variance those share. The mean difference gets
a percentile bootstrap interval; with few pairs the interval means little, so an exact
two-sided sign test is given beside it, and no claim is made below ``MIN_PAIRS`` pairs.
Runs are the benchmark's result records (``spec`` with seed and fold, ``metrics`` on the
held-out images, ``train_metrics`` on the training images).
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

#: Fewest pairs for a verdict: with 4 pairs even 4 wins of 4 has sign-test p = 0.125.
MIN_PAIRS = 5
NOT_DISTINGUISHABLE = 'not distinguishable'


def counted(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless ``n`` is 1: '1 pair', '6 pairs'."""
    return f'{n} {noun}{"" if n == 1 else "s"}'


def metric_values(results: Sequence[dict], source: str, key: str) -> List[float]:
    """One metric of every result; ``source`` 'val' or 'train'."""
    field = 'metrics' if source == 'val' else 'train_metrics'
    return [result[field].get(f'digestpath/{key}', float('nan')) for result in results]


def pair_key(run: dict) -> Tuple[int, int]:
    """(seed, fold) of a run: what it shares with its pair of another loss or setting."""
    return run['spec']['seed'], run['spec']['fold']


def by_pair(runs: Sequence[dict], source: str, key: str) -> Dict[tuple, float]:
    """One metric of each run keyed by :func:`pair_key`."""
    return {pair_key(r): v for r, v in zip(runs, metric_values(runs, source, key))}


def paired_differences(a: Dict[tuple, float], b: Dict[tuple, float]) -> np.ndarray:
    """a - b on the keys (seed, fold) both hold with finite values, in sorted key order."""
    common = sorted(k for k in set(a) & set(b) if math.isfinite(a[k]) and math.isfinite(b[k]))
    return np.asarray([a[k] - b[k] for k in common], dtype=np.float64)


def bootstrap_ci(diffs: np.ndarray, level: float = 0.95, resamples: int = 10000,
                 seed: int = 0) -> Tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``diffs``.

    Args:
        diffs (np.ndarray): (n,) paired differences, n >= 1.
        level (float): Coverage. Defaults to 0.95.
        resamples (int): Bootstrap resamples. Defaults to 10000.
        seed (int): Seed of the resampling, so a report is reproducible. Defaults to 0.

    Returns:
        Tuple[float, float]: The (level/2, 1 - level/2) quantiles of the resampled means.
    """
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), (resamples, len(diffs)))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def sign_test(diffs: np.ndarray) -> Tuple[int, int, float]:
    """Exact two-sided sign test; ties (d = 0) are left out.

    Returns:
        Tuple[int, int, float]: ``(wins, n, p)``: positive differences, non-zero ones, and
        p = min(1, 2 * P(X <= min(wins, n - wins))), X ~ Binomial(n, 1/2); p = 1 when n = 0.
    """
    wins, n = int((diffs > 0).sum()), int((diffs != 0).sum())
    k = min(wins, n - wins)
    p = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n if n else 1.0
    return wins, n, min(1.0, 2 * p)


@dataclass(frozen=True)
class PairedComparison:
    """Summary of a - b over the pairs.

    Attributes:
        n (int): Pairs.
        mean (float): Mean difference (NaN without pairs).
        ci (Tuple[float, float]): 95 % bootstrap interval of the mean (NaN without pairs).
        wins (int): Pairs where a is higher.
        sign_p (float): Two-sided sign-test p-value.
        verdict (str): 'higher', 'lower' or :data:`NOT_DISTINGUISHABLE`.
    """
    n: int
    mean: float
    ci: Tuple[float, float]
    wins: int
    sign_p: float
    verdict: str


def compare(diffs: np.ndarray, level: float = 0.95, seed: int = 0) -> PairedComparison:
    """Paired comparison: 'higher' / 'lower' only with at least :data:`MIN_PAIRS` pairs and a
    bootstrap interval that excludes 0, else :data:`NOT_DISTINGUISHABLE`."""
    if len(diffs) == 0:
        nan = float('nan')
        return PairedComparison(0, nan, (nan, nan), 0, 1.0, NOT_DISTINGUISHABLE)
    low, high = bootstrap_ci(diffs, level, seed=seed)
    wins, _, p = sign_test(diffs)
    verdict = NOT_DISTINGUISHABLE
    if len(diffs) >= MIN_PAIRS and (low > 0 or high < 0):
        verdict = 'higher' if low > 0 else 'lower'
    return PairedComparison(len(diffs), float(diffs.mean()), (low, high), wins, p, verdict)


def comparison_text(c: PairedComparison, sign_test_p: bool = True) -> str:
    """``'+0.031 [-0.012, +0.070], 3/4 higher, sign p 0.62, 4 pairs: not distinguishable'``:
    a :class:`PairedComparison` as report text (``'no pairs'`` without pairs).

    Args:
        c (PairedComparison): The comparison.
        sign_test_p (bool): Give the sign-test p-value and the pair count (a table with a
            pairs column leaves them out: ``'+0.031 [-0.012, +0.070], 3/4 higher, not
            distinguishable'``). Defaults to True.
    """
    if c.n == 0:
        return 'no pairs'
    text = f'{c.mean:+.3f} [{c.ci[0]:+.3f}, {c.ci[1]:+.3f}], {c.wins}/{c.n} higher'
    if sign_test_p:
        return f'{text}, sign p {c.sign_p:.2f}, {counted(c.n, "pair")}: {c.verdict}'
    return f'{text}, {c.verdict}'


def paired_summary(a: Dict[tuple, float], b: Dict[tuple, float], sign_test_p: bool = True) -> str:
    """:func:`comparison_text` of :func:`compare` of a - b over the (seed, fold) keys both
    hold (see :func:`by_pair`)."""
    return comparison_text(compare(paired_differences(a, b)), sign_test_p)
