"""Mining the missing cells on the `converge` protocol: PartialTeacher and one round of offline
self-training beside CE and PU, and their pseudo-labels.

Reads the result files and mmengine scalars logs of the runs (``benchmarks/converge_runs`` by
default), pairs each mining run with the CE / PU run of the same seed (a self-training run
also with its own round one, whose metrics its result carries), and writes
``benchmarks/partial_teacher.md`` (verdict first) with the pseudo-label quality curves
(``benchmarks/figures/partial_teacher/pseudo_labels.png``). The runs themselves come from the
matrix::

    python -m benchmarks --profile converge --protocol table4 --datasets synthetic \\
        --drop-rates 0.7 --losses teacher-ce teacher-pu --seeds 0 1 2 3 4 5 \\
        --parallel 2 --threads 1 --work-dir WORK --no-report
    python -m benchmarks --profile converge --protocol table4 --datasets synthetic \\
        --drop-rates 0.7 --losses ce pu selftrain-ce selftrain-pu --seeds 0 1 2 3 4 5 \\
        --parallel 2 --threads 1 --work-dir WORK2 --no-report
    python -m benchmarks.partial_teacher --runs-dir WORK/runs WORK2/runs

A self-training run's result carries its round one's metrics (``round1``): collect the
self-training folders of WORK2 into ``benchmarks/converge_runs`` without their round-one CE /
PU runs, second runs of seeds that folder holds (two runs of one id are refused).

Pseudo-label quality is measured against the boxes the protocol removed (known on the
synthetic set): a pseudo-box is on a removed cell when its IoU with one is at least 0.3, a
removed cell is found when a pseudo-box covers it so. The teacher's are the cells inside its
view of each partially annotated crop, summed over 250-iteration bins of the logs; a
self-training run's are its one labelling of the whole training images by its round one's
final checkpoint (``pseudo_labels`` of its result), a point at the end of round one.
"""
import argparse
import json
import os
import shlex
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from .harness.curves import scalar_logs
from .harness.loss_names import LOSS_LABELS, SELF_TRAINING
from .harness.paired_stats import by_pair, paired_summary

BENCH = Path(__file__).resolve().parent
#: Teacher -> the loss its student trains with.
TEACHERS = {'teacher-ce': 'ce', 'teacher-pu': 'pu'}
#: Every mining arm -> the loss it trains with.
MINING = {**TEACHERS, **SELF_TRAINING}
#: (source, key) of :func:`~.harness.paired_stats.by_pair`, and the metric's name.
METRICS = (('val', 'froc', 'held-out FROC'),
           ('train', 'r_recall@8fp', "removed cells' recall at 8 FP/img"),
           ('val', 'recall', 'held-out recall at score 0.5'))
COUNTS = ('pseudo_boxes', 'pseudo_on_removed', 'removed_boxes', 'removed_found',
          'pseudo_on_exhaustive', 'pseudo_ignored')
BIN = 250


def load_runs(runs_dirs: Sequence[Path], profile: str,
              drop_rate: float) -> Dict[str, List[dict]]:
    """Result records by loss (with the run folder under ``'dir'``).

    Raises:
        ValueError: Naming both folders, when two hold a run of the same id.
    """
    runs: Dict[str, List[dict]] = defaultdict(list)
    seen: Dict[str, Path] = {}
    for path in sorted(p for runs_dir in runs_dirs for p in runs_dir.glob('*/result.json')):
        result = json.loads(path.read_text())
        spec = result['spec']
        if (result['profile']['name'] == profile and spec['protocol'] == 'table4'
                and spec['dataset'] == 'synthetic' and spec['drop_rate'] == drop_rate):
            if result['run_id'] in seen:
                raise ValueError(f'partial_teacher: {path.parent} and {seen[result["run_id"]]} '
                                 f'both hold run {result["run_id"]}; give one of them')
            seen[result['run_id']] = path.parent
            runs[spec['loss']].append(dict(result, dir=str(path.parent)))
    return runs


def scalar_records(run_dir: Path) -> List[dict]:
    """Every record of a run's scalars logs, oldest log first."""
    return [record for log in scalar_logs(run_dir) for record in log]


def pseudo_label_bins(run_dir: Path) -> Dict[int, Dict[str, float]]:
    """Per 250-iteration bin, each count summed over the logged windows (a window's mean
    times its length, the log interval)."""
    records = [r for r in scalar_records(run_dir) if 'pseudo_boxes' in r]
    bins: Dict[int, Dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0.0))
    previous = None
    for record in records:
        step = record['iter'] - (previous if previous is not None else record['iter'] - 1)
        previous = record['iter']
        for key in COUNTS:
            bins[(record['iter'] - 1) // BIN * BIN + BIN][key] += record.get(key, 0.0) * step
    return dict(sorted(bins.items()))


def _ratio(a: float, b: float) -> float:
    return a / b if b else float('nan')


def quality(bins: Dict[int, Dict[str, float]]) -> Dict[str, float]:
    """Precision and recall of a run's pseudo-boxes over all its bins."""
    total = {key: sum(b[key] for b in bins.values()) for key in COUNTS}
    return dict(total, precision=_ratio(total['pseudo_on_removed'], total['pseudo_boxes']),
                recall=_ratio(total['removed_found'], total['removed_boxes']))


def plot(curves: Dict[str, Dict[str, Dict[int, Dict[str, float]]]],
         points: Dict[str, List[Dict[str, float]]], path: Path) -> None:
    """Precision and recall of the pseudo-boxes against iteration: a line per teacher run, a
    marker per self-training run at the end of its round one."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    colours = {'teacher-ce': 'tab:blue', 'teacher-pu': 'tab:orange',
               'selftrain-ce': 'tab:blue', 'selftrain-pu': 'tab:orange'}
    for teacher, runs in curves.items():
        for index, (_, bins) in enumerate(sorted(runs.items())):
            iters = list(bins)
            label = LOSS_LABELS.get(teacher, teacher) if index == 0 else None
            axes[0].plot(iters, [_ratio(b['pseudo_on_removed'], b['pseudo_boxes'])
                                 for b in bins.values()], color=colours[teacher], alpha=0.7,
                         label=label)
            axes[1].plot(iters, [_ratio(b['removed_found'], b['removed_boxes'])
                                 for b in bins.values()], color=colours[teacher], alpha=0.7)
            axes[2].plot(iters, [b['pseudo_boxes'] / BIN for b in bins.values()],
                         color=colours[teacher], alpha=0.7)
    for arm, runs in points.items():
        iters = [q['iter'] for q in runs]
        axes[0].scatter(iters, [q['precision'] for q in runs], marker='D', s=28,
                        color=colours[arm], edgecolor='black', label=LOSS_LABELS.get(arm, arm))
        axes[1].scatter(iters, [q['recall'] for q in runs], marker='D', s=28,
                        color=colours[arm], edgecolor='black')
    for axis, title in zip(axes, ('precision (on a removed cell)', 'recall of removed cells',
                                  'pseudo-boxes per iteration (teacher)')):
        axis.set_title(title, fontsize=10)
        axis.set_xlabel('iteration')
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _mean(values: Sequence[float]) -> str:
    values = [v for v in values if not np.isnan(v)]
    if not values:
        return 'n/a'
    return f'{np.mean(values):.3f} ± {np.std(values):.3f}' if len(values) > 1 else \
        f'{values[0]:.3f}'


def labelling_quality(run: dict) -> Dict[str, float]:
    """A self-training run's one labelling: precision and recall of its pseudo-boxes against
    the removed boxes, the pseudo-boxes on exhaustive images, and round one's last iteration.

    Raises:
        ValueError: Naming the run, when its labelling was not scored against removed boxes.
    """
    labels = run['pseudo_labels']
    scored = labels.get('quality')
    if not scored:
        raise ValueError(f"partial_teacher: {run['dir']}: the pseudo-labels of {run['run_id']} "
                         'were not scored against the removed boxes (materialise the removal)')

    def value(key: str) -> float:
        return float('nan') if scored.get(key) is None else float(scored[key])

    return dict(precision=value('precision'), recall=value('recall'),
                pseudo_boxes=float(labels['pseudo_boxes']),
                pseudo_on_exhaustive=float(labels['pseudo_on_exhaustive']),
                iter=float(run['profile']['iters']))


def round_ones(runs: Sequence[dict]) -> List[dict]:
    """The round ones of self-training runs as records of their own (spec, metrics)."""
    return [dict(spec=r['spec'], metrics=r['round1']['metrics'],
                 train_metrics=r['round1']['train_metrics']) for r in runs]


def comparison(name: str, base_name: str, a_runs: Sequence[dict], b_runs: Sequence[dict],
               source: str, key: str, metric: str) -> str:
    """One verdict line: the ratio of paired means and the paired difference."""
    a, b = by_pair(a_runs, source, key), by_pair(b_runs, source, key)
    shared = sorted(set(a) & set(b))
    ratio = _ratio(np.mean([a[k] for k in shared]),
                   np.mean([b[k] for k in shared])) if shared else float('nan')
    return (f'- {name} against {base_name}, {metric}: {ratio:.2f}x; paired difference '
            f'{paired_summary(a, b)}.')


def report(runs: Dict[str, List[dict]], figure: Path, out_dir: Path, command: str) -> List[str]:
    """The markdown lines (verdict first)."""
    lines = ['# Mining the missing cells: PartialTeacher and self-training (converge, '
             'synthetic, 70% removed)', '']
    verdict, table = [], ["| Method | Runs | Held-out FROC | Removed cells' recall @ 8 FP/img | "
                          'Held-out recall @ 0.5 | Pseudo precision | Pseudo recall | '
                          'Pseudo-boxes on exhaustive images |',
                          '|---|---:|---:|---:|---:|---:|---:|---:|']
    curves: Dict[str, Dict[str, dict]] = {}
    points: Dict[str, List[Dict[str, float]]] = {}
    for loss in ('ce', 'pu', *MINING):
        done = runs.get(loss, [])
        if not done:
            continue
        froc = [r['metrics'].get('digestpath/froc', float('nan')) for r in done]
        recall8 = [r['train_metrics'].get('digestpath/r_recall@8fp', float('nan'))
                   for r in done]
        recall = [r['metrics'].get('digestpath/recall', float('nan')) for r in done]
        row = [LOSS_LABELS.get(loss, loss), str(len(done)), _mean(froc), _mean(recall8),
               _mean(recall)]
        if loss in MINING:
            if loss in TEACHERS:
                bins = {r['run_id']: pseudo_label_bins(Path(r['dir'])) for r in done}
                curves[loss] = bins
                q = [quality(b) for b in bins.values()]
            else:
                q = points[loss] = [labelling_quality(r) for r in done]
            row += [_mean([x['precision'] for x in q]), _mean([x['recall'] for x in q]),
                    f"{int(sum(x['pseudo_on_exhaustive'] for x in q))}"]
            bases = [(MINING[loss], runs.get(MINING[loss], []))]
            if MINING[loss] != 'ce':
                bases.append(('ce', runs.get('ce', [])))
            if loss in SELF_TRAINING:
                bases.append(('its round one', round_ones(done)))
            for source, key, name in METRICS:
                for base, base_runs in bases:
                    if base_runs:
                        verdict.append(comparison(LOSS_LABELS[loss],
                                                  LOSS_LABELS.get(base, base), done, base_runs,
                                                  source, key, name))
        else:
            row += ['', '', '']
        table.append('| ' + ' | '.join(row) + ' |')
    lines += ['## Verdict', ''] + (verdict or ['- No mining run has finished yet.']) + ['']
    lines += ['## Runs', ''] + table + ['']
    if curves or points:
        plot(curves, points, figure)
        lines += ['## Pseudo-label quality over training', '',
                  f'![pseudo-label quality]({Path(os.path.relpath(figure, out_dir)).as_posix()})',
                  '',
                  'Precision: the share of pseudo-boxes on a removed cell (IoU >= 0.3); recall: '
                  "the share of the removed cells that a pseudo-box covers so. Teacher: the "
                  "cells in its views, sums over 250-iteration bins of the training logs "
                  '(lines); self-training: its one labelling of the whole training images by '
                  "round one's final checkpoint (diamonds).", '']
    lines += ['## How the numbers were made', '',
              '- Runs: the `converge` profile (`benchmarks/recipes/converge.py`), synthetic '
              'Table 4 at 70% removed, fold 0, seeds paired with CE and PU; configs '
              '`configs/digestpath/retinanet_r18-light_fpn_{teacher,selftrain}-{ce,pu}_'
              'digestpath.py`.',
              '- Cost of a training step against CE: `benchmarks/step_time_teacher.md`.',
              f'- This page: `{command}`', '']
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--runs-dir', type=Path, nargs='+', default=[BENCH / 'converge_runs'])
    p.add_argument('--profile', default='converge')
    p.add_argument('--drop-rate', type=float, default=0.7)
    p.add_argument('--out', type=Path, default=BENCH / 'partial_teacher.md')
    p.add_argument('--figure', type=Path,
                   default=BENCH / 'figures' / 'partial_teacher' / 'pseudo_labels.png')
    args = p.parse_args(argv)
    command = 'python -m benchmarks.partial_teacher ' + shlex.join(
        sys.argv[1:] if argv is None else argv)
    runs = load_runs(args.runs_dir, args.profile, args.drop_rate)
    args.out.write_text('\n'.join(report(runs, args.figure, args.out.parent, command.strip())))
    print(f'{args.out}: {sum(len(v) for v in runs.values())} runs')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
