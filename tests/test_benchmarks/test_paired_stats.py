"""Paired statistics of the benchmark report: exact values on hand-made differences."""
import math

import numpy as np
import pytest

from benchmarks.harness.paired_stats import (
    NOT_DISTINGUISHABLE,
    bootstrap_ci,
    compare,
    counted,
    paired_differences,
    paired_summary,
    sign_test,
)


def test_paired_differences_use_common_finite_pairs_only():
    a = {(0, 0): 0.5, (1, 0): 0.7, (2, 0): float('nan'), (3, 0): 0.1}
    b = {(0, 0): 0.25, (1, 0): 0.75, (2, 0): 0.3}
    np.testing.assert_allclose(paired_differences(a, b), [0.25, -0.05])


def test_sign_test_exact_values():
    assert sign_test(np.array([0.1, 0.2, 0.3, 0.4])) == (4, 4, 0.125)
    assert sign_test(np.array([0.1, -0.2, 0.0])) == (1, 2, 1.0)  # the tie is left out
    wins, n, p = sign_test(np.array([1.0] * 9 + [-1.0]))
    assert (wins, n) == (9, 10) and p == pytest.approx(2 * 11 / 1024)
    assert sign_test(np.zeros(0)) == (0, 0, 1.0)


def test_bootstrap_interval_is_seeded_and_degenerate_for_constant_differences():
    diffs = np.array([0.1, -0.3, 0.2, 0.05, 0.4, -0.1])
    assert bootstrap_ci(diffs, seed=3) == bootstrap_ci(diffs, seed=3)
    low, high = bootstrap_ci(diffs)
    assert diffs.min() < low < diffs.mean() < high < diffs.max()
    assert bootstrap_ci(np.full(5, 0.2)) == pytest.approx((0.2, 0.2))


def test_verdicts():
    assert compare(np.full(5, 0.1)).verdict == 'higher'
    assert compare(np.full(6, -0.1)).verdict == 'lower'
    # Four wins of four: the interval excludes 0, but four pairs are too few for a claim.
    few = compare(np.full(4, 0.1))
    assert few.verdict == NOT_DISTINGUISHABLE and few.sign_p == 0.125 and few.n == 4
    # The interval holds 0.
    assert compare(np.array([0.1, -0.3, 0.2, 0.05, 0.4, -0.1])).verdict == NOT_DISTINGUISHABLE
    empty = compare(np.zeros(0))
    assert empty.n == 0 and math.isnan(empty.mean) and empty.verdict == NOT_DISTINGUISHABLE


def test_counted_is_singular_for_one_only():
    assert [counted(n, 'pair') for n in (0, 1, 2)] == ['0 pairs', '1 pair', '2 pairs']


def test_paired_summary_text_with_and_without_the_sign_test():
    a = {(s, 0): 0.5 + 0.1 * s for s in range(5)}
    b = {(s, 0): 0.4 + 0.1 * s for s in range(5)}
    b[(5, 0)] = 0.9  # no partner in a
    assert paired_summary(a, b) == (
        '+0.100 [+0.100, +0.100], 5/5 higher, sign p 0.06, 5 pairs: higher')
    assert paired_summary(a, b, sign_test_p=False) == '+0.100 [+0.100, +0.100], 5/5 higher, higher'
    assert paired_summary(a, {(9, 0): 0.1}) == 'no pairs'
    assert paired_summary(a, {(0, 0): 0.45}) == (
        '+0.050 [+0.050, +0.050], 1/1 higher, sign p 1.00, 1 pair: not distinguishable')


def test_plateau_iteration_on_hand_made_curves():
    from benchmarks.harness.curves import plateau_iteration
    curve = [(250, 0.5), (500, 0.9), (750, 0.95), (1000, 0.955), (1250, 0.951), (1500, 0.958)]
    # 750-1250 is the earliest flat window (range 0.005) and every later one is flat too.
    assert plateau_iteration(curve) == 1250
    # A late swing: the plateau starts after it.
    swing = curve + [(1750, 0.90), (2000, 0.901), (2250, 0.905), (2500, 0.903)]
    assert plateau_iteration(swing) == 2250
    # Still moving at the end, or too short to tell.
    assert plateau_iteration(curve + [(1750, 0.99)]) is None
    assert plateau_iteration(curve[:2]) is None
    assert plateau_iteration(curve, tol=0.001) is None


def test_final_trend_is_the_least_squares_slope_of_the_last_fifth():
    from benchmarks.harness.curves import final_trend
    # A line rising by 0.02 per 1,000 steps; the early jump and the evaluation at 4,000 (the
    # start of the last fifth) are outside the fit.
    line = [(250, 0.1), (4000, 0.9)] + [(t, 0.5 + 0.02 * t / 1000) for t in range(4250, 5001, 250)]
    assert final_trend(line) == pytest.approx(0.02)
    # A symmetric swing around a flat level has slope 0.
    swing = [(1000, 0.2), (4250, 0.8), (4500, 0.9), (4750, 0.9), (5000, 0.8)]
    assert final_trend(swing) == pytest.approx(0.0, abs=1e-12)
    # Closed form for two points: their difference per 1,000 steps.
    assert final_trend([(4500, 0.6), (5000, 0.5)]) == pytest.approx(-0.2)
    assert final_trend([(4000, 0.6), (5000, 0.5)]) is None
    assert final_trend([]) is None
