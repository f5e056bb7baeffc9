"""The run matrix's estimate of the time left, against hand computations."""
import pytest

from benchmarks.harness.matrix import time_left


def test_time_left_shares_the_mean_duration_over_the_busy_workers():
    # Mean 100 s; 3 pending (300 s) and two running for 40 s and 130 s (60 s and 0 s more),
    # over 2 workers: 360 / 2.
    assert time_left([80.0, 120.0], 3, [40.0, 130.0], parallel=2) == pytest.approx(180.0)
    # One run left, running for 30 s: one worker is busy, however many could run.
    assert time_left([100.0], 0, [30.0], parallel=4) == pytest.approx(70.0)
    # Nothing finished yet: no estimate; nothing left: 0.
    assert time_left([], 2, [10.0], parallel=2) is None
    assert time_left([100.0], 0, [], parallel=2) == 0.0
