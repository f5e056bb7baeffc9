"""The convergence sections of the report on hand-made records and curves: their numbers."""
import numpy as np
import pytest

from benchmarks.harness.convergence import (
    convergence_section,
    curve_band,
    mechanisms,
    plateaus,
    reference_rows,
    selections,
)
from benchmarks.harness.paired_stats import NOT_DISTINGUISHABLE


def record(loss, seed, froc, recall=0.5, r8=0.4):
    return dict(run_id=f'{loss}_{seed}', spec=dict(seed=seed, fold=0),
                metrics={'digestpath/froc': froc, 'digestpath/recall': recall},
                train_metrics={'digestpath/r_recall@8fp': r8})


def test_reference_rows_give_ratio_and_sign_test():
    by_loss = {'ce': [record('ce', s, f) for s, f in enumerate([0.5, 0.6, 0.7])],
               'pu': [record('pu', s, f) for s, f in enumerate([0.6, 0.7, 0.9])]}
    ce, pu = reference_rows(by_loss)
    assert (ce.loss, ce.runs) == ('ce', 3)
    assert ce.cells[0].mean == pytest.approx(0.6)
    assert (ce.cells[0].ratio, ce.cells[0].comparison) == (1.0, None)
    froc, recall, r8 = pu.cells
    # (0.6 + 0.7 + 0.9) / 3 / 0.6 = 1.22; every pair higher, sign p = 2 / 2^3 = 0.25.
    assert (froc.mean, froc.ratio) == (pytest.approx(2.2 / 3), pytest.approx(2.2 / 1.8))
    c = froc.comparison
    assert (c.n, c.wins, c.sign_p, c.verdict) == (3, 3, 0.25, NOT_DISTINGUISHABLE)
    assert c.mean == pytest.approx(0.4 / 3)
    assert (recall.ratio, recall.comparison.wins) == (pytest.approx(1.0), 0)  # all ties
    assert reference_rows({'pu': by_loss['pu']}) == []


def test_plateaus_per_seed():
    by_loss = {'ce': [record('ce', 0, 0.9), record('ce', 1, 0.9)]}
    curves = {'ce_0': {'digestpath/froc': [(1000, 0.5), (2000, 0.9), (3000, 0.905),
                                           (4000, 0.9), (4500, 0.903), (5000, 0.904)]},
              'ce_1': {'digestpath/froc': [(1000, 0.5), (2000, 0.7), (3000, 0.9),
                                           (4000, 0.8), (4500, 0.85), (5000, 0.9)]}}
    (row, ) = plateaus(by_loss, curves)
    assert row.starts == (4000, None)
    assert row.ranges == pytest.approx((0.004, 0.1))
    # Slopes after 4,000 (4,500-5,000): +0.002 and +0.100 per 1,000 steps.
    assert (row.trend.n, row.trend.wins, row.trend.mean) == (2, 2, pytest.approx(0.051))
    assert plateaus(by_loss, {'ce_0': {}, 'ce_1': {}}) == []


def test_curve_band_on_shared_iterations():
    a = {'k': [(1, 0.2), (2, 0.4), (3, 0.6)]}
    b = {'k': [(2, 0.8), (3, 1.0)]}
    steps, mean, low, high = curve_band([a, b, {}], 'k')
    assert steps.tolist() == [2, 3]
    assert mean.tolist() == pytest.approx([0.6, 0.8])
    assert (low.tolist(), high.tolist()) == ([0.4, 0.6], [0.8, 1.0])
    assert curve_band([a], 'other') is None


def test_mechanism_reads_peak_and_end_of_the_training_curves():
    by_loss = {'ce': [record('ce', 0, 0.8)], 'dghmc': [record('dghmc', 0, 0.7)]}
    curves = {'ce_0': {'train/digestpath/r_recall@8fp': [(1000, 0.3), (2000, 0.6), (3000, 0.4)],
                       'train/digestpath/t_recall': [(1000, 0.2), (2000, 0.5), (3000, 0.7)]},
              'dghmc_0': {'train/digestpath/r_recall@8fp': [(1000, 0.3), (2000, 0.5)]}}
    ce, dghmc = mechanisms(by_loss, curves)
    assert ce == ('ce', 1, 0.6, 2000, 0.4, 1, 0.7, 0.7)
    assert dghmc == ('dghmc', 1, 0.5, 2000, 0.5, 0, None, None)  # no T-recall curve


def test_selection_picks_the_best_partial_evaluation():
    by_loss = {'ce': [record('ce', 0, 0.7), record('ce', 1, 0.9)]}
    curves = {'ce_0': {'annotated/digestpath/froc': [(500, 0.3), (1000, 0.6), (1500, 0.5)],
                       'digestpath/froc': [(500, 0.4), (1000, 0.8), (1500, 0.7)]},
              'ce_1': {'annotated/digestpath/froc': [(500, 0.3), (1000, 0.4), (1500, 0.5)],
                       'digestpath/froc': [(500, 0.4), (1000, 0.95), (1500, 0.9)]}}
    # Picked on the partial fold (seed 1: 1500), not where the complete fold peaks (1000).
    (row, ) = selections(by_loss, curves)
    assert (row.picks, row.at_pick, row.at_end) == ((1000, 1500), pytest.approx(0.85),
                                                    pytest.approx(0.8))
    assert (row.difference.mean, row.difference.wins, row.difference.n) == (
        pytest.approx(0.05), 1, 2)


def test_convergence_section_draws_its_figure_only_when_asked(tmp_path):
    by_rate = {0.7: {'ce': [record('ce', 0, 0.8)]}, 0.0: {'ce': [record('ce', 1, 0.8)]}}
    assert convergence_section(by_rate, {'ce_0': {}, 'ce_1': {}}, tmp_path, 'f', 'x') == []
    flat = [(250, 0.8), (500, 0.8), (750, 0.8)]
    curves = {'ce_0': {'digestpath/froc': flat}, 'ce_1': {'digestpath/froc': flat}}
    drawn = convergence_section(by_rate, curves, tmp_path / 'figs', 'figures/set', 'converge')
    # One figure per missing rate; natural annotation (rate 0) is the result set's curves.png.
    assert sorted(p.name for p in (tmp_path / 'figs').iterdir()) == ['curves.png',
                                                                      'curves_0.7.png']
    assert np.all([(tmp_path / 'figs' / n).stat().st_size > 1000
                   for n in ('curves.png', 'curves_0.7.png')])
    links = [line for line in drawn if line.startswith('![')]
    assert [line.split('](')[1] for line in links] == ['figures/set/curves.png)',
                                                       'figures/set/curves_0.7.png)']
    # Without a folder: the same text, nothing drawn.
    assert convergence_section(by_rate, curves, None, 'figures/set', 'converge') == drawn
    assert len(list((tmp_path / 'figs').iterdir())) == 2
