"""The convergence sections of the report on hand-made records and curves."""
import pytest

from benchmarks.harness.convergence import (
    convergence_section,
    curve_band,
    mechanism_lines,
    paired_with_reference,
    plateau_rows,
    selection_rows,
)


def record(loss, seed, froc, recall=0.5, r8=0.4):
    return dict(run_id=f'{loss}_{seed}', spec=dict(seed=seed, fold=0),
                metrics={'digestpath/froc': froc, 'digestpath/recall': recall},
                train_metrics={'digestpath/r_recall@8fp': r8})


def test_paired_with_reference_gives_ratio_and_sign_test():
    by_loss = {'ce': [record('ce', s, f) for s, f in enumerate([0.5, 0.6, 0.7])],
               'pu': [record('pu', s, f) for s, f in enumerate([0.6, 0.7, 0.9])]}
    lines = paired_with_reference(by_loss)
    assert lines[0].startswith(
        '| Loss | Runs (seeds x folds) | FROC (mean) | FROC ratio | Δ FROC vs CE |')
    ce_row, pu_row = lines[2], lines[3]
    assert ce_row.startswith('| CE | 3 | 0.600 | 1 | - |')
    # (0.6 + 0.7 + 0.9) / 3 / 0.6 = 1.22; every pair higher, sign p = 2 / 2^3 = 0.25.
    assert pu_row.startswith('| PU (PNU) | 3 | 0.733 | 1.22 | +0.133 [')
    assert '3/3 higher, sign p 0.250: not distinguishable' in pu_row
    assert paired_with_reference({'pu': by_loss['pu']}) == []


def test_plateau_rows_per_seed():
    by_loss = {'ce': [record('ce', 0, 0.9), record('ce', 1, 0.9)]}
    curves = {'ce_0': {'digestpath/froc': [(1000, 0.5), (2000, 0.9), (3000, 0.905),
                                           (4000, 0.9), (4500, 0.903), (5000, 0.904)]},
              'ce_1': {'digestpath/froc': [(1000, 0.5), (2000, 0.7), (3000, 0.9),
                                           (4000, 0.8), (4500, 0.85), (5000, 0.9)]}}
    lines = plateau_rows(by_loss, curves)
    # Slopes after 4,000 (4,500-5,000): +0.002 and +0.100 per 1,000 steps.
    assert lines[2] == ('| CE | 1/2 | 4000, not reached | 0.004, 0.100 | '
                        '+0.051 [+0.002, +0.100], 2/2 rising |')
    assert plateau_rows(by_loss, {'ce_0': {}, 'ce_1': {}}) == []


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
    ce, dghmc = mechanism_lines(by_loss, curves)
    assert ce == ('- CE (1 run): R-recall @8 FP/img peaks at 0.600 (median iteration 2000) '
                  'and ends at 0.400 (-0.200); it ends more than 0.02 below its peak in 1 of '
                  '1 run; T-recall @0.5 ends at 0.700 (its peak 0.700).')
    assert dghmc.startswith('- DGHM-C (1 run): R-recall @8 FP/img peaks at 0.500 (median '
                            'iteration 2000) and ends at 0.500 (+0.000); it ends more than '
                            '0.02 below its peak in 0 of 1 run.')


def test_selection_picks_the_best_partial_evaluation():
    by_loss = {'ce': [record('ce', 0, 0.7), record('ce', 1, 0.9)]}
    curves = {'ce_0': {'annotated/digestpath/froc': [(500, 0.3), (1000, 0.6), (1500, 0.5)],
                       'digestpath/froc': [(500, 0.4), (1000, 0.8), (1500, 0.7)]},
              'ce_1': {'annotated/digestpath/froc': [(500, 0.3), (1000, 0.4), (1500, 0.5)],
                       'digestpath/froc': [(500, 0.4), (1000, 0.8), (1500, 0.9)]}}
    (row, ) = selection_rows(by_loss, curves)[2:]
    assert row == '| CE | 2 | 1000, 1500 | 0.850 | 0.800 | +0.050, 1/2 higher |'


def test_convergence_section_needs_curves(tmp_path):
    by_rate = {0.7: {'ce': [record('ce', 0, 0.8)]}}
    assert convergence_section(by_rate, {'ce_0': {}}, tmp_path, 'x', 'x') == []
    lines = convergence_section(
        by_rate, {'ce_0': {'digestpath/froc': [(250, 0.8), (500, 0.8), (750, 0.8)]}},
        tmp_path, 'conv', 'converge')
    assert lines[0] == '### At convergence, missing rate 0.7'
    assert '![learning curves, missing rate 0.7](conv_curves_0.7.png)' in lines
    assert (tmp_path / 'conv_curves_0.7.png').is_file()
