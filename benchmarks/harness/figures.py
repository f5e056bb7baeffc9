"""The report's figures, drawn from the grouped records, each result set in a folder of its own.

Matplotlib is imported when a figure is drawn, so the report's text needs none of it.
"""
import math
from collections import defaultdict
from pathlib import Path
from typing import Dict, Mapping, Sequence

import numpy as np

from .curves import read_loss_curve
from .loss_names import ALL_LOSSES, loss_label, loss_order
from .paired_stats import metric_values
from .records import Group, ResultSet
from .tables import Groups, mean_std


def new_figure(width: float = 5.0, height: float = 3.6):
    """A matplotlib figure on the Agg canvas (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=90)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: Path) -> None:
    """Save ``fig`` to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def figure_folders(result_sets: Sequence[ResultSet]) -> Dict[ResultSet, str]:
    """A short folder name per result set: ``<dataset>_t3`` / ``_t4`` for the shortest profile
    name of that protocol and dataset, with the rest of the profile's name appended for the
    others (``synthetic_t4_iters15000-valinterval500`` beside ``synthetic_t4``)."""
    folders = {}
    for s in result_sets:
        base = f'{s.dataset}_t{s.protocol[-1]}'
        shortest = min((o.profile for o in result_sets
                        if (o.protocol, o.dataset) == (s.protocol, s.dataset)),
                       key=lambda n: (len(n), n))
        if s.profile == shortest:
            folders[s] = base
        else:
            rest = s.profile[len(shortest) + 1:] if s.profile.startswith(shortest + '-') \
                else s.profile
            folders[s] = f'{base}_{rest}'
    return folders


def plot_vs_missing_rate(groups: Groups, source: str, key: str, title: str,
                         path: Path) -> None:
    """One line per loss: mean (error bar: std) of a metric against the missing rate."""
    fig = new_figure()
    ax = fig.add_subplot()
    by_loss: Dict[str, list] = defaultdict(list)
    for group, runs in groups.items():
        mean, std, n = mean_std(metric_values(runs, source, key))
        if n:
            by_loss[group.loss].append((group.missing_rate, mean, std))
    for loss in sorted(by_loss, key=loss_order):
        rate, mean, std = np.asarray(sorted(by_loss[loss])).T
        ax.errorbar(rate, mean, yerr=std, marker='o', capsize=3, label=loss_label(loss))
    ax.set_xlabel('missing rate (share of training boxes removed)')
    ax.set_ylabel(title)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save_figure(fig, path)


def loss_curves(groups: Groups, run_dirs: Mapping[str, Path]) -> Dict[Group, dict]:
    """The training-loss curve of the first run of each group that logged one."""
    curves = {}
    for group, runs in groups.items():
        curve = read_loss_curve(run_dirs[runs[0]['run_id']])
        if curve['iter'].size:
            curves[group] = curve
    return curves


def plot_learning_curves(curves: Dict[Group, dict], path: Path, title: str) -> None:
    """Loss vs iteration, one panel per loss, one line per missing rate (:func:`loss_curves`);
    classification (solid) and box regression (dashed) losses."""
    losses = [loss for loss in ALL_LOSSES if any(g.loss == loss for g in curves)]
    losses += sorted({g.loss for g in curves} - set(losses))
    cols = 3
    rows = math.ceil(len(losses) / cols)
    fig = new_figure(4.0 * cols, 2.8 * rows)
    for index, loss in enumerate(losses):
        ax = fig.add_subplot(rows, cols, index + 1)
        for group, curve in curves.items():
            if group.loss != loss:
                continue
            line, = ax.plot(curve['iter'], curve['loss_cls'],
                            label=f'cls, missing {group.missing_rate:.1f}')
            ax.plot(curve['iter'], curve['loss_bbox'], linestyle='--', color=line.get_color(),
                    label=f'bbox, missing {group.missing_rate:.1f}')
        ax.set_title(loss_label(loss), fontsize=9)
        ax.set_xlabel('iteration', fontsize=8)
        ax.set_yscale('log')
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
