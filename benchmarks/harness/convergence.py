"""The convergence sections of the report, as pure functions of result records and curves.

For a table whose runs were evaluated during training (``val_interval``): every loss paired
with CE on the same seeds and folds, whether and where each run reached its plateau, learning
curves over the seeds, the paper's mechanism read off the training-image curves, and a
practitioner's model selection on the partially annotated held-out fold. Curves are
``{key: [(iteration, value), ...]}`` per run (:func:`benchmarks.harness.curves.
read_eval_curves`); a section whose curves no run logged is left out.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from matplotlib.figure import Figure

from .curves import PLATEAU_TOL, PLATEAU_WINDOW, TREND_SHARE, final_trend, plateau_iteration
from .paired_stats import by_pair, compare, counted, pair_key, paired_differences
from .profiles import LOSS_LABELS

__all__ = ['CURVE_PANELS', 'paired_with_reference', 'plateau_rows', 'curve_band',
           'plot_curve_bands', 'mechanism_lines', 'selection_rows', 'convergence_section']

Curves = Dict[str, List[Tuple[int, float]]]

#: (panel title, scalars key) of the learning-curve figure: held-out complete and partial
#: annotation, the training images' removed (R) and kept (T) boxes.
CURVE_PANELS = (('held-out FROC (complete boxes)', 'digestpath/froc'),
                ('held-out FROC (partial boxes)', 'annotated/digestpath/froc'),
                ('R-recall @8 FP/img (training images)', 'train/digestpath/r_recall@8fp'),
                ('T-recall @0.5 (training images)', 'train/digestpath/t_recall'),
                ('held-out recall @0.5', 'digestpath/recall'))
#: (column, metric source, key) of the paired table.
PAIRED_METRICS = (('FROC', 'val', 'froc'), ('Recall @0.5', 'val', 'recall'),
                  ('R-recall @8 FP/img', 'train', 'r_recall@8fp'))
#: The checkpoint a practitioner would pick: best FROC on the partially annotated fold.
SELECTION_KEY = 'annotated/digestpath/froc'


def _label(loss: str) -> str:
    return LOSS_LABELS.get(loss, loss)


def paired_with_reference(by_loss: Dict[str, List[dict]],
                          reference: str = 'ce') -> List[str]:
    """Markdown table: each loss's mean per metric, its ratio to ``reference`` on the pairs
    both ran, and the paired difference with its interval, wins and sign test; [] without
    the reference."""
    if reference not in by_loss:
        return []
    header = ['Loss', 'Runs (seeds x folds)']
    for label, _, _ in PAIRED_METRICS:
        header += [f'{label} (mean)', f'{label} ratio', f'Δ {label} vs {_label(reference)}']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    ref_runs = by_loss[reference]
    for loss, runs in by_loss.items():
        row = [_label(loss), str(len(runs))]
        for _, source, key in PAIRED_METRICS:
            mine, ref = by_pair(runs, source, key), by_pair(ref_runs, source, key)
            finite = [v for v in mine.values() if math.isfinite(v)]
            row.append(f'{np.mean(finite):.3f}' if finite else 'n/a')
            if loss == reference:
                row += ['1', '-']
                continue
            common = [k for k in set(mine) & set(ref)
                      if math.isfinite(mine[k]) and math.isfinite(ref[k])]
            ref_mean = np.mean([ref[k] for k in common]) if common else float('nan')
            ratio = np.mean([mine[k] for k in common]) / ref_mean if common and ref_mean else \
                float('nan')
            row.append(f'{ratio:.2f}' if math.isfinite(ratio) else 'n/a')
            c = compare(paired_differences(mine, ref))
            row.append('no pairs' if c.n == 0 else
                       f'{c.mean:+.3f} [{c.ci[0]:+.3f}, {c.ci[1]:+.3f}], {c.wins}/{c.n} higher, '
                       f'sign p {c.sign_p:.3f}: {c.verdict}')
        lines.append('| ' + ' | '.join(row) + ' |')
    return lines


def plateau_rows(by_loss: Dict[str, List[dict]], curves: Dict[str, Curves]) -> List[str]:
    """Markdown table: per loss, how many runs reached the plateau of held-out FROC
    (:func:`plateau_iteration`), from which iterations, the FROC range of the last
    ``PLATEAU_WINDOW`` evaluations, and the slope of the last fifth of the curve
    (:func:`final_trend`) over the runs: mean [95 % bootstrap interval], runs still rising."""
    lines = ["| Loss | Runs at plateau | Plateau from (per run) | Last evaluations' FROC "
             'range (per run) | FROC slope, last fifth (per 1,000 steps) |',
             '|---|---|---|---|---|']
    for loss, runs in by_loss.items():
        vals = [curves[r['run_id']].get('digestpath/froc', [])
                for r in sorted(runs, key=pair_key)]
        vals = [val for val in vals if len(val) >= PLATEAU_WINDOW]
        if not vals:
            continue
        starts = [plateau_iteration(val) for val in vals]
        ranges = [np.ptp([v for _, v in val[-PLATEAU_WINDOW:]]) for val in vals]
        slopes = np.array([s for s in map(final_trend, vals) if s is not None])
        trend = compare(slopes)
        lines.append(f'| {_label(loss)} | {sum(s is not None for s in starts)}/{len(vals)} | '
                     + ', '.join('not reached' if s is None else str(s) for s in starts)
                     + ' | ' + ', '.join(f'{r:.3f}' for r in ranges) + ' | '
                     + (f'{trend.mean:+.3f} [{trend.ci[0]:+.3f}, {trend.ci[1]:+.3f}], '
                        f'{trend.wins}/{trend.n} rising' if trend.n else 'n/a') + ' |')
    return lines if len(lines) > 2 else []


def curve_band(runs_curves: Sequence[Curves], key: str
               ) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``(iterations, mean, min, max)`` of one key over runs, on the iterations every run
    evaluated; None when no run has the key."""
    series = [dict(c[key]) for c in runs_curves if c.get(key)]
    if not series:
        return None
    steps = sorted(set.intersection(*(set(s) for s in series)))
    if not steps:
        return None
    values = np.array([[s[step] for step in steps] for s in series], dtype=float)
    return (np.asarray(steps), np.nanmean(values, axis=0), np.nanmin(values, axis=0),
            np.nanmax(values, axis=0))


def plot_curve_bands(by_loss: Dict[str, List[dict]], curves: Dict[str, Curves], path,
                     title: str) -> bool:
    """One panel per :data:`CURVE_PANELS` key some run logged: a line per loss (mean over
    its runs) and a band (min to max). Returns whether anything was drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    panels = [(t, k) for t, k in CURVE_PANELS
              if any(curves[r['run_id']].get(k) for runs in by_loss.values() for r in runs)]
    if not panels:
        return False
    cols = min(len(panels), 3)
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows))
    FigureCanvasAgg(fig)
    for index, (panel, key) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, index + 1)
        for loss, runs in by_loss.items():
            band = curve_band([curves[r['run_id']] for r in runs], key)
            if band is None:
                continue
            steps, mean, low, high = band
            line, = ax.plot(steps, mean, label=f'{_label(loss)} ({len(runs)})')
            ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.15)
        ax.set_title(panel, fontsize=9)
        ax.set_xlabel('iteration', fontsize=8)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    return True


def mechanism_lines(by_loss: Dict[str, List[dict]], curves: Dict[str, Curves]) -> List[str]:
    """The paper's mechanism per loss, read off the training-image curves: the mean over
    runs of R-recall @8 FP/img's peak (and the median iteration of the peak) against its
    last value, and of T-recall's last value against its peak; [] without such curves."""
    lines = []
    for loss, runs in by_loss.items():
        r_curves = [curves[r['run_id']].get('train/digestpath/r_recall@8fp') for r in runs]
        t_curves = [curves[r['run_id']].get('train/digestpath/t_recall') for r in runs]
        r_curves = [c for c in r_curves if c]
        t_curves = [c for c in t_curves if c]
        if not r_curves:
            continue
        peaks = [max(c, key=lambda p: p[1]) for c in r_curves]
        peak = np.mean([v for _, v in peaks])
        last = np.mean([c[-1][1] for c in r_curves])
        fell = sum(c[-1][1] < p[1] - 0.02 for c, p in zip(r_curves, peaks))
        n = len(r_curves)
        text = (f'- {_label(loss)} ({counted(n, "run")}): R-recall @8 FP/img peaks at '
                f'{peak:.3f} (median iteration {int(np.median([i for i, _ in peaks]))}) and '
                f'ends at {last:.3f} ({last - peak:+.3f}); it ends more than 0.02 below its '
                f'peak in {fell} of {counted(n, "run")}')
        if t_curves:
            t_last = np.mean([c[-1][1] for c in t_curves])
            t_peak = np.mean([max(v for _, v in c) for c in t_curves])
            text += f'; T-recall @0.5 ends at {t_last:.3f} (its peak {t_peak:.3f})'
        lines.append(text + '.')
    return lines


def selection_rows(by_loss: Dict[str, List[dict]], curves: Dict[str, Curves]) -> List[str]:
    """Markdown table: the held-out FROC on complete boxes at the evaluation a practitioner
    would pick (best FROC on the partially annotated fold) and at the end of training, mean
    over runs, with the paired difference; [] without partial-fold curves."""
    lines = ['| Loss | Runs | Picked at (per run) | FROC at the pick | FROC at the end | '
             'Δ pick - end |', '|---|---|---|---|---|---|']
    for loss, runs in by_loss.items():
        picks, at_pick, at_end = [], {}, {}
        for run in sorted(runs, key=pair_key):
            c = curves[run['run_id']]
            if not c.get(SELECTION_KEY) or not c.get('digestpath/froc'):
                continue
            step = max(c[SELECTION_KEY], key=lambda p: p[1])[0]
            complete = dict(c['digestpath/froc'])
            if step not in complete:
                continue
            picks.append(step)
            at_pick[pair_key(run)] = complete[step]
            at_end[pair_key(run)] = c['digestpath/froc'][-1][1]
        if not picks:
            continue
        d = compare(paired_differences(at_pick, at_end))
        lines.append(f'| {_label(loss)} | {len(picks)} | {", ".join(map(str, picks))} | '
                     f'{np.mean(list(at_pick.values())):.3f} | '
                     f'{np.mean(list(at_end.values())):.3f} | {d.mean:+.3f}, '
                     f'{d.wins}/{d.n} higher |')
    return lines if len(lines) > 2 else []


def convergence_section(by_rate: Dict[float, Dict[str, List[dict]]],
                        curves: Dict[str, Curves], out_dir, stem: str,
                        title: str) -> List[str]:
    """The convergence section of one table: per missing rate, the paired table, the
    plateau, the learning curves (``<stem>_curves_<rate>.png``), the mechanism and the model
    selection; [] when no run has evaluation curves."""
    if not any(curves[r['run_id']] for by_loss in by_rate.values()
               for runs in by_loss.values() for r in runs):
        return []
    lines = []
    for rate, by_loss in sorted(by_rate.items()):
        where = f'missing rate {rate:.1f}' if rate else 'natural annotation'
        lines += [f'### At convergence, {where}', '']
        paired = paired_with_reference(by_loss)
        if paired:
            lines += ['Each loss against CE on the same seeds and folds: mean over its runs, '
                      "ratio of its mean to CE's on the shared pairs, and the paired "
                      'difference [95 % bootstrap interval], wins, exact sign test ("not '
                      'distinguishable" below 5 pairs or with 0 in the interval). FROC on '
                      'the complete held-out boxes; recall at the 0.5 operating threshold; '
                      'R-recall of the removed training boxes at 8 FP per image.', ''] + \
                paired + ['']
        plateau = plateau_rows(by_loss, curves)
        if plateau:
            lines += [f'Plateau of held-out FROC: reached when FROC stays within '
                      f'{PLATEAU_TOL} over every {PLATEAU_WINDOW} consecutive evaluations '
                      'to the end; from the last evaluation of the first such window. The '
                      'slope is the least-squares fit of held-out FROC over the evaluations '
                      f'of the last {TREND_SHARE:.0%} of the run (after the learning-rate '
                      'drop), per 1,000 steps; its interval is over the runs, and an interval '
                      'above 0 says the curves are still rising.', ''] \
                + plateau + ['']
        png = out_dir / f'{stem}_curves_{rate:.1f}.png'
        if plot_curve_bands(by_loss, curves, png, f'{title}, {where}: mean over seeds, '
                            'band min to max'):
            lines += [f'![learning curves, {where}]({png.name})', '']
        mechanism = mechanism_lines(by_loss, curves)
        if mechanism:
            lines += ["The paper's mechanism (CE fits the unannotated cells late in training: "
                      'its R-recall would rise, then fall, while T-recall keeps rising), '
                      'from the training-image evaluations:', ''] + mechanism + ['']
        selection = selection_rows(by_loss, curves)
        if selection:
            lines += ['Model selection as a practitioner would do it: the evaluation with the '
                      'best FROC on the held-out fold annotated like the training data '
                      '(same share of boxes removed), scored on the complete boxes, against '
                      'the end of training:', ''] + selection + ['']
    return lines
