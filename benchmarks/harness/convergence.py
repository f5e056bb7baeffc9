"""The convergence sections of the report, as pure functions of result records and curves.

For a table whose runs were evaluated during training (``val_interval``): every loss paired
with CE on the same seeds and folds, whether and where each run reached its plateau, learning
curves over the seeds, the paper's mechanism read off the training-image curves, and a
practitioner's model selection on the partially annotated held-out fold. Curves are
``{key: [(iteration, value), ...]}`` per run (:func:`benchmarks.harness.curves.
read_eval_curves`); a section whose curves no run logged is left out.
"""
import math
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .curves import PLATEAU_TOL, PLATEAU_WINDOW, TREND_SHARE, final_trend, plateau_iteration
from .loss_names import loss_label
from .paired_stats import PairedComparison, by_pair, compare, counted, pair_key, paired_differences

__all__ = ['CURVE_PANELS', 'PAIRED_METRICS', 'RatioCell', 'ReferenceRow', 'reference_rows',
           'paired_with_reference', 'PlateauRow', 'plateaus', 'plateau_rows', 'curve_band',
           'curve_panels', 'plot_curve_bands', 'MechanismRow', 'mechanisms',
           'mechanism_lines', 'SelectionRow', 'selections', 'selection_rows',
           'curves_figure_name', 'convergence_section']

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


class RatioCell(NamedTuple):
    """One metric of a loss against the reference loss.

    Attributes:
        mean (float): Mean over the loss's runs with a finite value (NaN without any).
        ratio (float): Its mean over the (seed, fold) pairs both losses ran over the
            reference's mean over them (1 for the reference itself; NaN without pairs).
        comparison (PairedComparison, optional): The paired difference loss - reference
            (None for the reference itself).
    """
    mean: float
    ratio: float
    comparison: Optional[PairedComparison]


class ReferenceRow(NamedTuple):
    """A loss against the reference: its runs and one :class:`RatioCell` per metric."""
    loss: str
    runs: int
    cells: Tuple[RatioCell, ...]


def reference_rows(by_loss: Dict[str, List[dict]], reference: str = 'ce',
                   metrics: Sequence[Tuple[str, str, str]] = PAIRED_METRICS
                   ) -> List[ReferenceRow]:
    """Each loss of ``by_loss`` against ``reference`` on the pairs both ran, per metric
    (``(label, source, key)``); [] without the reference."""
    if reference not in by_loss:
        return []
    ref_runs = by_loss[reference]
    rows = []
    for loss, runs in by_loss.items():
        cells = []
        for _, source, key in metrics:
            mine, ref = by_pair(runs, source, key), by_pair(ref_runs, source, key)
            finite = [v for v in mine.values() if math.isfinite(v)]
            mean = float(np.mean(finite)) if finite else float('nan')
            if loss == reference:
                cells.append(RatioCell(mean, 1.0, None))
                continue
            common = [k for k in set(mine) & set(ref)
                      if math.isfinite(mine[k]) and math.isfinite(ref[k])]
            ref_mean = np.mean([ref[k] for k in common]) if common else float('nan')
            ratio = (float(np.mean([mine[k] for k in common]) / ref_mean)
                     if common and ref_mean else float('nan'))
            cells.append(RatioCell(mean, ratio, compare(paired_differences(mine, ref))))
        rows.append(ReferenceRow(loss, len(runs), tuple(cells)))
    return rows


def _comparison_text(c: PairedComparison) -> str:
    return ('no pairs' if c.n == 0 else
            f'{c.mean:+.3f} [{c.ci[0]:+.3f}, {c.ci[1]:+.3f}], {c.wins}/{c.n} higher, '
            f'sign p {c.sign_p:.3f}: {c.verdict}')


def paired_with_reference(by_loss: Dict[str, List[dict]],
                          reference: str = 'ce') -> List[str]:
    """Markdown table of :func:`reference_rows`: each loss's mean per metric, its ratio to
    ``reference`` on the pairs both ran, and the paired difference with its interval, wins
    and sign test; [] without the reference."""
    rows = reference_rows(by_loss, reference)
    if not rows:
        return []
    header = ['Loss', 'Runs (seeds x folds)']
    for label, _, _ in PAIRED_METRICS:
        header += [f'{label} (mean)', f'{label} ratio', f'Δ {label} vs {loss_label(reference)}']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        line = [loss_label(row.loss), str(row.runs)]
        for cell in row.cells:
            line.append(f'{cell.mean:.3f}' if math.isfinite(cell.mean) else 'n/a')
            if cell.comparison is None:
                line += ['1', '-']
                continue
            line.append(f'{cell.ratio:.2f}' if math.isfinite(cell.ratio) else 'n/a')
            line.append(_comparison_text(cell.comparison))
        lines.append('| ' + ' | '.join(line) + ' |')
    return lines


class PlateauRow(NamedTuple):
    """Held-out FROC's plateau of a loss's runs (in seed, fold order).

    Attributes:
        loss (str): The loss.
        starts (tuple): Per run, the iteration its plateau starts at (None: not reached).
        ranges (tuple): Per run, the FROC range of its last ``PLATEAU_WINDOW`` evaluations.
        trend (PairedComparison): The runs' slopes of the last fifth (:func:`final_trend`),
            per 1,000 steps: mean, bootstrap interval, runs rising (``wins``).
    """
    loss: str
    starts: Tuple[Optional[int], ...]
    ranges: Tuple[float, ...]
    trend: PairedComparison


def plateaus(by_loss: Dict[str, List[dict]], curves: Dict[str, Curves]) -> List[PlateauRow]:
    """Per loss with runs of at least ``PLATEAU_WINDOW`` evaluations: where each reached the
    plateau of held-out FROC (:func:`plateau_iteration`), its last evaluations' range and
    the slope of its last fifth."""
    rows = []
    for loss, runs in by_loss.items():
        vals = [curves[r['run_id']].get('digestpath/froc', [])
                for r in sorted(runs, key=pair_key)]
        vals = [val for val in vals if len(val) >= PLATEAU_WINDOW]
        if not vals:
            continue
        slopes = np.array([s for s in map(final_trend, vals) if s is not None])
        rows.append(PlateauRow(loss, tuple(plateau_iteration(val) for val in vals),
                               tuple(float(np.ptp([v for _, v in val[-PLATEAU_WINDOW:]]))
                                     for val in vals),
                               compare(slopes)))
    return rows


def plateau_rows(by_loss: Dict[str, List[dict]], curves: Dict[str, Curves]) -> List[str]:
    """Markdown table of :func:`plateaus`: runs at the plateau, from which iterations, the
    last evaluations' FROC range and the slope of the last fifth over the runs (mean [95 %
    bootstrap interval], runs still rising); [] without curves."""
    rows = plateaus(by_loss, curves)
    if not rows:
        return []
    lines = ["| Loss | Runs at plateau | Plateau from (per run) | Last evaluations' FROC "
             'range (per run) | FROC slope, last fifth (per 1,000 steps) |',
             '|---|---|---|---|---|']
    for row in rows:
        trend = row.trend
        lines.append(f'| {loss_label(row.loss)} | '
                     f'{sum(s is not None for s in row.starts)}/{len(row.starts)} | '
                     + ', '.join('not reached' if s is None else str(s) for s in row.starts)
                     + ' | ' + ', '.join(f'{r:.3f}' for r in row.ranges) + ' | '
                     + (f'{trend.mean:+.3f} [{trend.ci[0]:+.3f}, {trend.ci[1]:+.3f}], '
                        f'{trend.wins}/{trend.n} rising' if trend.n else 'n/a') + ' |')
    return lines


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


def curve_panels(by_loss: Dict[str, List[dict]],
                 curves: Dict[str, Curves]) -> List[Tuple[str, str]]:
    """The :data:`CURVE_PANELS` some run of ``by_loss`` logged."""
    return [(t, k) for t, k in CURVE_PANELS
            if any(curves[r['run_id']].get(k) for runs in by_loss.values() for r in runs)]


def plot_curve_bands(by_loss: Dict[str, List[dict]], curves: Dict[str, Curves], path: Path,
                     title: str) -> None:
    """One panel per :func:`curve_panels` entry: a line per loss (mean over its runs) and a
    band (min to max)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    panels = curve_panels(by_loss, curves)
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
            line, = ax.plot(steps, mean, label=f'{loss_label(loss)} ({len(runs)})')
            ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.15)
        ax.set_title(panel, fontsize=9)
        ax.set_xlabel('iteration', fontsize=8)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


class MechanismRow(NamedTuple):
    """The paper's mechanism in one loss's training-image curves, means over its runs.

    Attributes:
        loss (str): The loss.
        runs (int): Runs with an R-recall @8 FP/img curve.
        peak (float): Mean of each run's highest R-recall @8 FP/img.
        peak_iteration (int): Median iteration of those peaks.
        last (float): Mean of each run's last value.
        fell (int): Runs that end more than 0.02 below their peak.
        t_last (float, optional): Mean last T-recall @0.5 (None without its curves).
        t_peak (float, optional): Mean of each run's highest T-recall @0.5.
    """
    loss: str
    runs: int
    peak: float
    peak_iteration: int
    last: float
    fell: int
    t_last: Optional[float]
    t_peak: Optional[float]


def mechanisms(by_loss: Dict[str, List[dict]], curves: Dict[str, Curves]
               ) -> List[MechanismRow]:
    """:class:`MechanismRow` of each loss whose runs logged R-recall @8 FP/img curves."""
    rows = []
    for loss, runs in by_loss.items():
        r_curves = [curves[r['run_id']].get('train/digestpath/r_recall@8fp') for r in runs]
        t_curves = [curves[r['run_id']].get('train/digestpath/t_recall') for r in runs]
        r_curves = [c for c in r_curves if c]
        t_curves = [c for c in t_curves if c]
        if not r_curves:
            continue
        peaks = [max(c, key=lambda p: p[1]) for c in r_curves]
        rows.append(MechanismRow(
            loss, len(r_curves), float(np.mean([v for _, v in peaks])),
            int(np.median([i for i, _ in peaks])), float(np.mean([c[-1][1] for c in r_curves])),
            sum(c[-1][1] < p[1] - 0.02 for c, p in zip(r_curves, peaks)),
            float(np.mean([c[-1][1] for c in t_curves])) if t_curves else None,
            float(np.mean([max(v for _, v in c) for c in t_curves])) if t_curves else None))
    return rows


def mechanism_lines(by_loss: Dict[str, List[dict]], curves: Dict[str, Curves]) -> List[str]:
    """:func:`mechanisms` as a Markdown list; [] without such curves."""
    lines = []
    for row in mechanisms(by_loss, curves):
        runs = counted(row.runs, 'run')
        text = (f'- {loss_label(row.loss)} ({runs}): R-recall @8 FP/img peaks at '
                f'{row.peak:.3f} (median iteration {row.peak_iteration}) and ends at '
                f'{row.last:.3f} ({row.last - row.peak:+.3f}); it ends more than 0.02 below '
                f'its peak in {row.fell} of {runs}')
        if row.t_last is not None:
            text += f'; T-recall @0.5 ends at {row.t_last:.3f} (its peak {row.t_peak:.3f})'
        lines.append(text + '.')
    return lines


class SelectionRow(NamedTuple):
    """A practitioner's checkpoint pick for one loss's runs (in seed, fold order).

    Attributes:
        loss (str): The loss.
        picks (tuple): Per run, the iteration with the best FROC on the partially annotated
            held-out fold.
        at_pick (float): Mean FROC on the complete fold at the pick.
        at_end (float): Mean FROC on the complete fold at the end of training.
        difference (PairedComparison): pick - end over the runs.
    """
    loss: str
    picks: Tuple[int, ...]
    at_pick: float
    at_end: float
    difference: PairedComparison


def selections(by_loss: Dict[str, List[dict]], curves: Dict[str, Curves]
               ) -> List[SelectionRow]:
    """:class:`SelectionRow` of each loss whose runs logged the partial fold's FROC."""
    rows = []
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
        if picks:
            rows.append(SelectionRow(loss, tuple(picks), float(np.mean(list(at_pick.values()))),
                                     float(np.mean(list(at_end.values()))),
                                     compare(paired_differences(at_pick, at_end))))
    return rows


def selection_rows(by_loss: Dict[str, List[dict]], curves: Dict[str, Curves]) -> List[str]:
    """Markdown table of :func:`selections`: the held-out FROC on complete boxes at the pick
    and at the end of training, with the paired difference; [] without partial-fold
    curves."""
    rows = selections(by_loss, curves)
    if not rows:
        return []
    lines = ['| Loss | Runs | Picked at (per run) | FROC at the pick | FROC at the end | '
             'Δ pick - end |', '|---|---|---|---|---|---|']
    for row in rows:
        d = row.difference
        lines.append(f'| {loss_label(row.loss)} | {len(row.picks)} | '
                     f'{", ".join(map(str, row.picks))} | {row.at_pick:.3f} | '
                     f'{row.at_end:.3f} | {d.mean:+.3f}, {d.wins}/{d.n} higher |')
    return lines


def curves_figure_name(missing_rate: float) -> str:
    """File name of a result set's learning-curve figure at one missing rate:
    ``curves.png`` under natural annotation, ``curves_0.7.png`` at a controlled rate."""
    return f'curves_{missing_rate:.1f}.png' if missing_rate else 'curves.png'


def convergence_section(by_rate: Dict[float, Dict[str, List[dict]]],
                        curves: Dict[str, Curves], figure_dir: Optional[Path],
                        link_dir: str, title: str) -> List[str]:
    """The convergence section of one table: per missing rate, the paired table, the
    plateau, the learning curves (:func:`curves_figure_name`), the mechanism and the model
    selection; [] when no run has evaluation curves.

    Args:
        by_rate (dict): Runs by missing rate and loss (or row label).
        curves (dict): Evaluation curves by run id.
        figure_dir (Path, optional): Folder the figures are drawn into; None draws none (the
            text is the same).
        link_dir (str): The figures' folder as the report links it.
        title (str): What the figures' titles name.
    """
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
        if curve_panels(by_loss, curves):
            name = curves_figure_name(rate)
            if figure_dir is not None:
                plot_curve_bands(by_loss, curves, figure_dir / name,
                                 f'{title}, {where}: mean over seeds, band min to max')
            lines += [f'![learning curves, {where}]({link_dir}/{name})', '']
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
