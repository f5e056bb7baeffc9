"""``benchmarks/RESULTS.md`` and its plots, computed from the runs' ``result.json`` files only.

Nothing here is typed by hand: every number comes from a result file or an mmengine log, so
``python -m benchmarks --report-only`` rebuilds the whole report from a work directory.
"""
import json
import math
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .ablations import ablation_of, ablation_table, split_ablations
from .convergence import convergence_section
from .curves import (
    PLATEAU_TOL,
    PLATEAU_WINDOW,
    plateau_iteration,
    read_eval_curves,
    read_loss_curve,
    read_val_curve,
)
from .paired_stats import by_pair, metric_values, paired_summary
from .profiles import ALL_LOSSES, LOSS_LABELS, canonical_name
from .runs import RESULT_FILE, loss_config_path

#: (column title, metric source, key); source 'val': held-out complete boxes, 'train': the
#: training images with their removed boxes (Table 4's R-/T-recall).
TABLE3_COLUMNS = (('Precision', 'val', 'precision'), ('NFPs', 'val', 'nfps'),
                  ('Recall', 'val', 'recall'), ('FROC', 'val', 'froc'),
                  ('Recall @1 FP', 'val', 'recall@1fp'), ('Recall @8 FP', 'val', 'recall@8fp'))
#: R-recall without a threshold: at 1 and 8 false positives per positive training image.
R_RECALL_AT_FP = (('R-recall @1 FP/img', 'train', 'r_recall@1fp'),
                  ('R-recall @8 FP/img', 'train', 'r_recall@8fp'))
TABLE4_COLUMNS = TABLE3_COLUMNS + (('R-recall', 'train', 'r_recall'),
                                   ('T-recall', 'train', 't_recall')) + R_RECALL_AT_FP
#: The metrics of the paper's claim: plotted and pivoted against the missing rate, checked.
CLAIM_METRICS = (('FROC', 'val', 'froc'), ('R-recall', 'train', 'r_recall'),
                 R_RECALL_AT_FP[1])
#: The losses each claim of the paper is checked against (its Table 4 also names SCE).
VERDICT_OPPONENTS = ('ce', 'focal', 'ghmc', 'ghmc-mmdet', 'sce')
#: Columns measured at the metric's operating threshold (its ``score_thr``).
OPERATING_POINT_COLUMNS = ('Precision', 'NFPs', 'Recall')


def mean_std(values: Sequence[float]) -> Tuple[float, float, int]:
    """Mean and sample standard deviation (ddof=1; 0 for one value) of the finite values.

    Returns:
        tuple: ``(mean, std, n)`` with NaN mean when no value is finite.
    """
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], float)
    if finite.size == 0:
        return float('nan'), float('nan'), 0
    std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    return float(finite.mean()), std, int(finite.size)


def format_mean_std(values: Sequence[float], digits: int = 3) -> str:
    """``'0.412 ± 0.031'`` over the finite values (the value alone when there is one: a
    single run has no spread); ``' (k/n)'`` is appended when only k of the n values are finite
    (e.g. precision without any prediction above the threshold), and ``'n/a'`` is returned
    when none is."""
    mean, std, n = mean_std(values)
    if n == 0:
        return 'n/a'
    text = f'{mean:.{digits}f} ± {std:.{digits}f}' if n > 1 else f'{mean:.{digits}f}'
    return text if n == len(values) else f'{text} ({n}/{len(values)})'


def group_key(result: dict) -> Tuple[str, str, str, float, str]:
    """(profile, protocol, dataset, drop rate, loss): runs that differ by seed or fold. The
    profile is named by its recorded settings (:func:`canonical_name`), so runs of an older
    recipe never share a row with today's."""
    spec = result['spec']
    return (canonical_name(result['profile']), spec['protocol'], spec['dataset'],
            float(spec['drop_rate']), spec['loss'])


def group_results(results: Iterable[dict]) -> Dict[tuple, List[dict]]:
    """Results grouped by :func:`group_key`, in sorted key order."""
    groups: Dict[tuple, List[dict]] = defaultdict(list)
    for result in results:
        groups[group_key(result)].append(result)
    return OrderedDict(sorted(groups.items(), key=lambda kv: (
        kv[0][:4], ALL_LOSSES.index(kv[0][4]) if kv[0][4] in ALL_LOSSES else 99)))


def froc_truncated(result: dict) -> bool:
    """Whether a run's FROC may miss part of the ranking: its curve stopped before 32 false
    positives per normal image, or it predates ``froc_complete`` (evaluated with the old test
    ``score_thr`` 0.05)."""
    return result['metrics'].get('digestpath/froc_complete', 0.0) < 1.0


def truncation_note(runs: Sequence[dict]) -> str:
    """``''`` or ``' (FROC truncated in 2 of 6 runs)'``."""
    count = sum(map(froc_truncated, runs))
    return f' (FROC truncated in {count} of {len(runs)} runs)' if count else ''


def _loss_label(loss: str) -> str:
    return LOSS_LABELS.get(loss, loss)


def train_time_text(runs: Sequence[dict]) -> str:
    """Mean training seconds per run for each CPU the runs trained on, with the count where
    more than one ran there (times compare only within one machine), e.g.
    ``'579 (AMD EPYC x2), 398 (Intel Xeon x4)'`` (CPUs in name order)."""
    by_cpu: Dict[str, List[float]] = defaultdict(list)
    for result in runs:
        cpu = ' '.join(result['machine']['cpu'].replace('(R)', '').replace('Processor', '')
                       .split())
        by_cpu[cpu].append(result['train_time_s'])
    if len(by_cpu) == 1:
        (cpu, times), = by_cpu.items()
        return f'{np.mean(times):.0f} ({cpu})'
    return ', '.join(f'{np.mean(times):.0f} ({cpu} x{len(times)})'
                     for cpu, times in sorted(by_cpu.items()))


def results_table(groups: Dict[tuple, List[dict]], protocol: str) -> List[str]:
    """Markdown rows of one protocol: loss (and missing rate) x metric, mean ± std."""
    columns = TABLE3_COLUMNS if protocol == 'table3' else TABLE4_COLUMNS
    thresholds = sorted({r['metrics'].get('digestpath/score_thr', 0.5)
                         for runs in groups.values() for r in runs})
    at = ' / '.join(f'{t:g}' for t in thresholds)
    header = ['Loss'] + (['Missing rate'] if protocol == 'table4' else [])
    header += [f'{c[0]} (score >= {at})' if c[0] in OPERATING_POINT_COLUMNS else c[0]
               for c in columns] + ['Runs (seeds x folds)', 'Train s/run (CPU)']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for key, runs in groups.items():
        row = [_loss_label(key[4])] + ([f'{key[3]:.1f}'] if protocol == 'table4' else [])
        row += [format_mean_std(metric_values(runs, src, k)) for _, src, k in columns]
        row += [str(len(runs)), train_time_text(runs)]
        lines.append('| ' + ' | '.join(row) + ' |')
    return lines


def pivot_table(groups: Dict[tuple, List[dict]], source: str, key: str) -> List[str]:
    """Markdown table of one metric's mean: a row per loss, a column per missing rate, the best
    mean of each column in bold (Table 4 at a glance)."""
    rates = sorted({group[3] for group in groups})
    cells: Dict[str, Dict[float, float]] = defaultdict(dict)
    for group, runs in groups.items():
        cells[group[4]][group[3]] = mean_std(metric_values(runs, source, key))[0]
    best = {rate: max((c[rate] for c in cells.values()
                       if rate in c and math.isfinite(c[rate])), default=float('nan'))
            for rate in rates}
    lines = ['| Loss | ' + ' | '.join(f'{rate:.1f}' for rate in rates) + ' |',
             '|---|' + '---|' * len(rates)]
    for loss, by_rate in cells.items():
        row = []
        for rate in rates:
            value = by_rate.get(rate, float('nan'))
            text = f'{value:.3f}' if math.isfinite(value) else 'n/a'
            row.append(f'**{text}**' if math.isfinite(value) and value == best[rate] else text)
        lines.append(f'| {_loss_label(loss)} | ' + ' | '.join(row) + ' |')
    return lines


def measured(runs: Sequence[dict], source: str, key: str) -> bool:
    """Whether any of ``runs`` has a value of the metric (records older than a metric lack
    it)."""
    return any(math.isfinite(v) for v in metric_values(runs, source, key))


def paired_text(runs_a: Sequence[dict], runs_b: Sequence[dict], source: str, key: str) -> str:
    """:func:`paired_summary` of a - b over the (seed, fold) pairs run with both losses."""
    return paired_summary(by_pair(runs_a, source, key), by_pair(runs_b, source, key))


def verdict_table(groups: Dict[tuple, List[dict]]) -> List[str]:
    """The paper's two claims against each of :data:`VERDICT_OPPONENTS`, paired by seed and fold:
    R-recall at each profile's highest missing rate (Table 4) and held-out FROC under natural
    annotation (Table 3)."""
    settings: Dict[tuple, Dict[str, List[dict]]] = defaultdict(dict)
    for group, runs in groups.items():
        settings[group[:4]][group[4]] = runs
    highest = defaultdict(float)
    for profile, protocol, dataset, rate in settings:
        if protocol == 'table4':
            highest[(profile, dataset)] = max(highest[(profile, dataset)], rate)
    claims = []
    for (profile, protocol, dataset, rate), by_loss in settings.items():
        if 'dghmc' not in by_loss:
            continue
        if protocol == 'table4' and rate == highest[(profile, dataset)]:
            claims.append((f'R-recall at missing rate {rate:.1f}', profile, dataset, by_loss,
                           'train', 'r_recall'))
            label, source, key = R_RECALL_AT_FP[1]
            claims.append((f'{label} at missing rate {rate:.1f}', profile, dataset, by_loss,
                           source, key))
        elif protocol == 'table3':
            runs = [r for loss_runs in by_loss.values() for r in loss_runs]
            claims.append(('FROC, natural annotation' + truncation_note(runs), profile,
                           dataset, by_loss, 'val', 'froc'))
    # A claim stands where a DGHM-C run measured its metric (older records lack some).
    claims = [c for c in claims if measured(c[3]['dghmc'], c[4], c[5])]
    lines = ['| Claim | Profile | Data | ' + ' | '.join(
        f'DGHM-C - {_loss_label(loss)}' for loss in VERDICT_OPPONENTS) + ' |',
        '|---|---|---|' + '---|' * len(VERDICT_OPPONENTS)]
    for claim, profile, dataset, by_loss, source, key in sorted(claims, key=lambda c: c[:3]):
        cells = [paired_text(by_loss['dghmc'], by_loss[loss], source, key)
                 if loss in by_loss else 'not run' for loss in VERDICT_OPPONENTS]
        lines.append(f'| {claim} | `{profile}` | {dataset} | ' + ' | '.join(cells) + ' |')
    return lines if claims else []


def grad_histogram_summary(records: Sequence[Tuple[str, dict]]) -> List[str]:
    """Markdown table of gradient-norm histograms (``grad_hist_*.json`` records): per model and
    group the anchors and the share with a small (g < 0.1), middle or large (g >= 0.9) norm."""
    lines = ['| Model | Group | Anchors | g < 0.1 | 0.1 <= g < 0.9 | g >= 0.9 |',
             '|---|---|---|---|---|---|']
    for name, record in records:
        bins = int(record['bins'])
        low, high = max(bins // 10, 1), bins - max(bins // 10, 1)
        for group in record['groups']:
            counts = np.asarray(record['counts'][group], float)
            total = counts.sum()
            if total == 0:
                continue
            shares = (counts[:low].sum(), counts[low:high].sum(), counts[high:].sum())
            lines.append(f'| {name} | {group} | {int(total):,} | '
                         + ' | '.join(f'{100 * v / total:.2f} %' for v in shares) + ' |')
    return lines


def _figure(width: float = 5.0, height: float = 3.6) -> Figure:
    fig = Figure(figsize=(width, height), dpi=90)
    FigureCanvasAgg(fig)
    return fig


def plot_vs_missing_rate(groups: Dict[tuple, List[dict]], source: str, key: str,
                         title: str, path: Path) -> None:
    """One line per loss: mean (error bar: std) of a metric against the missing rate."""
    fig = _figure()
    ax = fig.add_subplot()
    by_loss: Dict[str, list] = defaultdict(list)
    for group, runs in groups.items():
        mean, std, n = mean_std(metric_values(runs, source, key))
        if n:
            by_loss[group[4]].append((group[3], mean, std))
    for loss in sorted(by_loss, key=lambda s: ALL_LOSSES.index(s) if s in ALL_LOSSES else 99):
        rate, mean, std = np.asarray(sorted(by_loss[loss])).T
        ax.errorbar(rate, mean, yerr=std, marker='o', capsize=3, label=_loss_label(loss))
    ax.set_xlabel('missing rate (share of training boxes removed)')
    ax.set_ylabel(title)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)


def plot_learning_curves(groups: Dict[tuple, List[dict]], run_dirs: Dict[str, Path],
                         path: Path, title: str) -> bool:
    """Loss vs iteration, one panel per loss, one line per missing rate (first run of each
    group); classification (solid) and box regression (dashed) losses. Returns whether
    anything was drawn."""
    losses = [loss for loss in ALL_LOSSES if any(g[4] == loss for g in groups)]
    if not losses:
        return False
    cols = 3
    rows = math.ceil(len(losses) / cols)
    fig = _figure(4.0 * cols, 2.8 * rows)
    drawn = False
    for index, loss in enumerate(losses):
        ax = fig.add_subplot(rows, cols, index + 1)
        for group, runs in groups.items():
            if group[4] != loss:
                continue
            curve = read_loss_curve(run_dirs[runs[0]['run_id']])
            if curve['iter'].size == 0:
                continue
            line, = ax.plot(curve['iter'], curve['loss_cls'],
                            label=f'cls, missing {group[3]:.1f}')
            ax.plot(curve['iter'], curve['loss_bbox'], linestyle='--', color=line.get_color(),
                    label=f'bbox, missing {group[3]:.1f}')
            drawn = True
        ax.set_title(_loss_label(loss), fontsize=9)
        ax.set_xlabel('iteration', fontsize=8)
        ax.set_yscale('log')
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    if drawn:
        fig.savefig(path)
    return drawn


def _val_curve_text(val: Sequence[Tuple[int, float]]) -> str:
    """``'500: 0.022, 1000: 0.178'``: held-out FROC by iteration."""
    return ', '.join(f'{it}: {froc:.3f}' for it, froc in val)


def val_curve_section(groups: Dict[tuple, List[dict]], run_dirs: Dict[str, Path],
                      path: Path, title: str) -> List[str]:
    """Held-out FROC during training of the runs evaluated every ``val_interval`` iterations:
    a table (first run of each group) and a PNG; [] when no run of ``groups`` has them."""
    rows, curves = [], []
    for group, runs in groups.items():
        profile = runs[0]['profile']
        if not profile.get('val_interval'):
            continue
        val = read_val_curve(run_dirs[runs[0]['run_id']], profile['iters'],
                             profile['val_interval'])
        if not val:
            continue
        label = _loss_label(group[4]) + (f', missing {group[3]:.1f}' if group[3] else '')
        curves.append((label, val))
        plateau = plateau_iteration(val)
        rows.append(f'| {label} | {_val_curve_text(val)} | '
                    f'{plateau if plateau is not None else "not reached"} |')
    if not rows:
        return []
    fig = _figure()
    ax = fig.add_subplot()
    for label, val in curves:
        ax.plot(*zip(*val), marker='o', label=label)
    ax.set_xlabel('iteration')
    ax.set_ylabel('held-out FROC')
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    return (['Held-out FROC during training (evaluations every `val_interval` iterations, '
             f'first seed). Plateau: from the iteration where FROC stays within '
             f'{PLATEAU_TOL} over every {PLATEAU_WINDOW} consecutive evaluations to the end.',
             '', '| Loss | Held-out FROC at iteration | Plateau from |', '|---|---|---|']
            + rows
            + ['', f'![held-out FROC during training]({path.name})', ''])


def recipe_section(run_dirs: Sequence[Path], out_dir: Path) -> List[str]:
    """Learning evidence of recipe experiments (runs with intermediate evaluations): a table of
    held-out FROC by iteration and a PNG of their losses and FROC."""
    rows, curves = [], []
    for run_dir in run_dirs:
        spec_file = Path(run_dir) / 'spec.json'
        if not spec_file.is_file():
            continue
        record = json.loads(spec_file.read_text())
        spec, profile = record['spec'], record['profile']
        label = (f'{Path(run_dir).name}: {_loss_label(spec["loss"])}, {spec["dataset"]}, '
                 f'missing {spec["drop_rate"]:.1f}')
        val = read_val_curve(run_dir, profile['iters'], profile['val_interval'])
        curves.append((label, read_loss_curve(run_dir), val))
        rows.append(f'| {label} | Adam {profile["lr"]:g}, warm-up {profile["warmup_iters"]}, '
                    f'batch {profile["batch_size"]} x {profile["crop_size"]} px | '
                    f'{_val_curve_text(val)} |')
    if not rows:
        return []
    fig = _figure(10, 3.6)
    ax_loss, ax_froc = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for label, loss, val in curves:
        line, = ax_loss.plot(loss['iter'], loss['loss_cls'], label=label.split(':')[0] + ' cls')
        ax_loss.plot(loss['iter'], loss['loss_bbox'], linestyle='--', color=line.get_color())
        if val:
            ax_froc.plot(*zip(*val), marker='o', color=line.get_color(),
                         label=label.split(':')[0])
    ax_loss.set_yscale('log')
    ax_loss.set_xlabel('iteration')
    ax_loss.set_title('training loss (cls solid, bbox dashed)', fontsize=9)
    ax_froc.set_xlabel('iteration')
    ax_froc.set_title('held-out FROC', fontsize=9)
    ax_froc.set_ylim(0, 1)
    for ax in (ax_loss, ax_froc):
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    png = out_dir / 'recipe_learning_curves.png'
    fig.savefig(png)
    return (['## CPU recipe experiments (learning evidence)', '',
             'Short runs with intermediate held-out evaluations, used to choose the CPU '
             'profile (light model from scratch, trainable BatchNorm).', '',
             '| Run | Optimiser, batch | Held-out FROC at iteration |', '|---|---|---|']
            + rows + ['', f'![recipe learning curves]({png.name})', ''])


def claim_check(groups: Dict[tuple, List[dict]]) -> List[str]:
    """Whether DGHM-C has the best mean FROC and R-recall in each setting (paper claim)."""
    settings: Dict[tuple, Dict[str, List[dict]]] = defaultdict(dict)
    for group, runs in groups.items():
        settings[group[:4]][group[4]] = runs
    lines = []
    for setting, by_loss in settings.items():
        if 'dghmc' not in by_loss or len(by_loss) < 2:
            continue
        for title, source, key in CLAIM_METRICS:
            means = {loss: mean_std(metric_values(runs, source, key))[0]
                     for loss, runs in by_loss.items()}
            means = {k: v for k, v in means.items() if math.isfinite(v)}
            if 'dghmc' not in means or len(means) < 2:
                continue
            ranked = sorted(means, key=lambda k: -means[k])
            best_other = max((k for k in means if k != 'dghmc'), key=lambda k: means[k])
            verdict = ('DGHM-C is best' if ranked[0] == 'dghmc' else
                       f'DGHM-C ranks {ranked.index("dghmc") + 1} of {len(ranked)}')
            if key == 'froc':
                verdict += truncation_note([r for runs in by_loss.values() for r in runs])
            paired = '; '.join(
                f'{_loss_label(loss)} {paired_text(by_loss["dghmc"], by_loss[loss], source, key)}'
                for loss in by_loss if loss != 'dghmc')
            lines.append(
                f'- {setting[2]}, {setting[1]}, `{setting[0]}`, missing rate '
                f'{setting[3]:.1f}, {title}: {verdict} (DGHM-C {means["dghmc"]:.3f}, best other '
                f'{_loss_label(best_other)} {means[best_other]:.3f}). DGHM-C minus, paired by '
                f'seed and fold (mean [95 % bootstrap interval]): {paired}.')
    return lines


#: Losses whose per-element gradient does not depend on the rest of the batch.
ELEMENTWISE_LOSSES = ('ce', 'focal', 'sce')


def prior_gradient_section(variant: str = 'r18-light', prior: float = 0.01) -> List[str]:
    """Markdown table: |dL/dx| of a positive and of a negative scored at RetinaHead's initial
    prior, for the element-wise losses of the committed configs (their own loss settings)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from .grad_histogram import gradient_at_prior
    init_default_scope('mmdet')
    lines = ['| Loss | positive | negative | positive / negative |', '|---|---|---|---|']
    for loss in ELEMENTWISE_LOSSES:
        cfg = Config.fromfile(str(loss_config_path(loss, variant)))
        pos, neg = gradient_at_prior(cfg.model.bbox_head.loss_cls, prior)
        lines.append(f'| {_loss_label(loss)} | {pos:.4g} | {neg:.4g} | {pos / neg:.4g} |')
    return lines


def _demote_headings(text: str) -> str:
    return '\n'.join('#' + line if line.startswith('#') else line
                     for line in text.strip().splitlines())


#: (setting, the paper's, why ours differs); our values come from the runs' profiles.
RECIPE_ROWS = (
    ('Backbone initialisation', 'ImageNet ResNet-18',
     'no ImageNet weights can be fetched where the benchmark runs; the configs keep '
     '`torchvision://resnet18` for users (`--pretrained` uses it)'),
    ('Schedule', '14 epochs, Adam', 'CPU time: iteration-based, one x0.1 step'),
    ('Crop', '600 px crops of 800 px tiles', 'CPU time: smaller tiles, same object scale'),
    ('Magnification', '40x', 'the half-scale (20x) copy of the data, synthetic cells at the '
     'matching size'),
    ('Learning rate', 'Adam 1e-4', 'from scratch 1e-4 barely moves in a few hundred steps'),
    ('Head width', '256 channels, 4 convs', 'the light head (64 channels, 2 convs) on the CPU'),
    ('Batch composition', '1 positive : 3 negative tiles',
     "the paper's in every profile; records named `-posfraction0.5` drew 1:1"),
    ('Histogram population', 'not stated', 'one histogram over all FPN levels; per level is '
     'an ablation (`--cls-loss-mode per_level`)'),
    ('Evaluation threshold', 'not stated', 'FROC on every detection (test score_thr 0); '
     "recall and precision at the metric's operating threshold; n/a: evaluated before the "
     'threshold was recorded (0.05), re-evaluate with `--reevaluate`'),
)


def _recipe_values(profile: dict, test_cfg: dict) -> Tuple[str, ...]:
    head = ('256 channels, 4 convs' if profile['variant'] == 'r18'
            else '64 channels, 2 convs')
    ours = (
        'ImageNet ResNet-18' if profile.get('pretrained') else 'random (from scratch)',
        f'{profile["iters"]} iterations, batch {profile["batch_size"]}',
        f'{profile["crop_size"]} px crops of {profile["train_tile"]} px tiles',
        f'real {40 * profile.get("real_scale", 1.0) / 2:g}x, synthetic '
        f'{40 * profile.get("syn_scale", 0.5):g}x-sized cells',
        f'Adam {profile["lr"]:g}',
        head,
        f'{profile["pos_fraction"]:g} positive',
        profile.get('cls_loss_mode', 'all_levels'),
        f'score_thr {test_cfg.get("score_thr", "n/a")}, max_per_img '
        f'{test_cfg.get("max_per_img", "n/a")}')
    return ours


def recipe_table(results: Sequence[dict]) -> List[str]:
    """Markdown table "our recipe vs the paper's": a column per profile (its latest
    evaluation settings), the paper's values, and why ours differ."""
    profiles: Dict[str, Tuple[str, ...]] = OrderedDict()
    for result in results:
        profiles[canonical_name(result['profile'])] = _recipe_values(
            result['profile'], result.get('test_cfg') or {})
    names = list(profiles)
    lines = ['| Setting | Paper | ' + ' | '.join(f'`{n}`' for n in names) + ' | Why |',
             '|---|---|' + '---|' * len(names) + '---|']
    for index, (setting, paper, why) in enumerate(RECIPE_ROWS):
        lines.append(f'| {setting} | {paper} | '
                     + ' | '.join(profiles[n][index] for n in names) + f' | {why} |')
    return lines


def _profile_table(results: Sequence[dict]) -> List[str]:
    profiles = OrderedDict((r['profile']['name'], r['profile']) for r in results)
    names = list(profiles)
    keys = list(next(iter(profiles.values())))
    lines = ['| Parameter | ' + ' | '.join(names) + ' |', '|---|' + '---|' * len(names)]
    for key in keys:
        if key == 'name':
            continue
        lines.append(f'| {key} | ' + ' | '.join(str(profiles[n].get(key, '')) for n in names)
                     + ' |')
    return lines


def _convergence_inputs(table_groups: Dict[tuple, List[dict]],
                        ablation_groups: Dict[tuple, List[dict]],
                        run_dirs: Dict[str, Path]) -> Tuple[dict, dict]:
    """``(by_rate, curves)`` of :func:`convergence_section`: the table's runs by missing rate
    and loss, with the ablations of the table's profile as rows of their own (``DGHM-C,
    momentum 0.75``), and the evaluation curves of each run."""
    by_rate: Dict[float, Dict[str, List[dict]]] = defaultdict(OrderedDict)
    profile = next(iter(table_groups))[0]
    for (_, _, _, rate, loss), runs in table_groups.items():
        by_rate[rate][loss] = runs
    for key, runs in ablation_groups.items():
        recipe, changes = ablation_of(runs[0]['profile'])
        if recipe.name == profile and key[1:3] == next(iter(table_groups))[1:3]:
            label = ', '.join([_loss_label(key[4])] + [f'{k.replace("_", " ")} {v}'
                                                       for k, v in changes.items()])
            by_rate[key[3]][label] = runs
    curves = {r['run_id']: read_eval_curves(run_dirs[r['run_id']])
              for by_loss in by_rate.values() for runs in by_loss.values() for r in runs}
    return by_rate, curves


def write_report(work_dirs: Sequence[Path], out_dir: Path, report_command: str,
                 extra_sections: Sequence[Path] = (),
                 grad_histograms: Sequence[Path] = (),
                 recipe_runs: Sequence[Path] = ()) -> Path:
    """Aggregate every result under ``work_dirs`` into ``out_dir/RESULTS.md`` with plots.

    Args:
        work_dirs (Sequence[Path]): Benchmark work directories (their runs' result files).
        out_dir (Path): Destination of RESULTS.md and the PNGs.
        report_command (str): The command that produced the report (written in it).
        extra_sections (Sequence[Path]): Markdown files included verbatim when they exist
            (the loss micro-benchmark, the inference overhead).
        grad_histograms (Sequence[Path]): Gradient-norm histogram PNGs to show.
        recipe_runs (Sequence[Path]): Run folders of recipe experiments (see
            :func:`recipe_section`).

    Returns:
        Path: The written RESULTS.md.

    Raises:
        FileNotFoundError: When no ``result.json`` exists under ``work_dirs``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results, run_dirs = [], {}
    for work_dir in work_dirs:
        for path in sorted(Path(work_dir).rglob(RESULT_FILE)):
            result = json.loads(path.read_text())
            results.append(result)
            run_dirs[result['run_id']] = path.parent
    if not results:
        raise FileNotFoundError(f'benchmark report: no {RESULT_FILE} under '
                                f'{", ".join(map(str, work_dirs))}')
    groups = group_results(results)
    # Ablation runs get their own section, beside the runs they change one setting of.
    main_groups, ablation_groups = split_ablations(groups)
    main_results = [r for runs in main_groups.values() for r in runs]
    lines = ['# Benchmark results: paper Tables 3 and 4 on our data', '',
             f'Generated by `{report_command}` from {len(results)} result files; '
             'do not edit by hand (rerun the command).', '',
             'Every run of a table uses the same data, seed, schedule and model; only the '
             'classification loss differs. Metrics (paper section 4.3): Precision, Recall at '
             "the metric's operating score threshold (in the table headers) on the held-out "
             'fold (by slide) with *complete* boxes, NFPs = '
             'max(100 - W, 0) with W the false positives per normal image (eq. 15, higher is '
             'better), FROC = mean recall at 1, 2, 4, 8, 16, 32 FPs per '
             'normal image over every detection, and Recall @1 / @8 FP the recall at 1 and 8 '
             'false positives per normal image (both independent of any score threshold; '
             'results evaluated before the test-time threshold was removed are truncated '
             'there, see `python -m benchmarks --reevaluate`). R-recall / T-recall: recall of '
             'the removed / kept boxes on the positive training images at the operating '
             'threshold (paper section 4.6); R-recall @1 / @8 FP/img: recall of the removed '
             'boxes at 1 and 8 false positives per positive training image (predictions '
             'matching neither a kept nor a removed box), threshold-free like FROC. Values '
             'are mean ± sample std over the seeds (and folds) run.', '']
    by_table: Dict[tuple, Dict[tuple, List[dict]]] = defaultdict(OrderedDict)
    for key, runs in main_groups.items():
        by_table[key[:3]][key] = runs
    for (profile, protocol, dataset), table_groups in sorted(by_table.items()):
        machines = sorted({f'{r["machine"]["device"]}' for g in table_groups.values()
                           for r in g})
        title = ('Table 3 protocol (natural partial annotation)' if protocol == 'table3'
                 else 'Table 4 protocol (controlled missing rate)')
        lines += [f'## {title}: {dataset} data, profile `{profile}`', '',
                  f'Device: {", ".join(machines)}.', '']
        lines += results_table(table_groups, protocol) + ['']
        runs = [r for group in table_groups.values() for r in group]
        if any(map(froc_truncated, runs)):
            lines += [f'FROC and Recall @FP are truncated in {sum(map(froc_truncated, runs))} '
                      f'of {len(runs)} runs: their curves stop before 32 false positives per '
                      'normal image, or they were evaluated with the older test `score_thr` '
                      '0.05 and carry no checkpoint to re-score (`--reevaluate` re-scores '
                      'those that do).', '']
        stem = f'{profile}_{protocol}_{dataset}'
        if protocol == 'table4':
            claim_metrics = [m for m in CLAIM_METRICS if measured(runs, *m[1:])]
            for label, source, key in claim_metrics:
                lines += [f'Mean {label} by missing rate (best in bold):', '']
                lines += pivot_table(table_groups, source, key) + ['']
            for label, source, key in claim_metrics:
                png = out_dir / f'{stem}_{key.replace("@", "_at_")}_vs_missing.png'
                plot_vs_missing_rate(table_groups, source, key,
                                     f'{label} ({dataset}, {profile})', png)
                lines += [f'![{label} vs missing rate]({png.name})', '']
        png = out_dir / f'{stem}_learning_curves.png'
        if plot_learning_curves(table_groups, run_dirs, png,
                                f'training losses ({protocol}, {dataset}, {profile})'):
            lines += [f'![learning curves]({png.name})', '']
        converged = convergence_section(
            *_convergence_inputs(table_groups, ablation_groups, run_dirs), out_dir, stem,
            f'{protocol}, {dataset}, {profile}')
        lines += converged or val_curve_section(
            table_groups, run_dirs, out_dir / f'{stem}_val_froc.png',
            f'held-out FROC ({protocol}, {dataset}, {profile})')
    checks = claim_check(main_groups)
    if checks:
        lines += ["## The paper's claim, checked", '',
                  'Paper: DGHM-C beats GHM-C, focal, CE and SCE on FROC and R-recall, most at '
                  'high missing rates. Measured (means over seeds; "paired runs": in how many '
                  'runs with the same seed and fold DGHM-C scored higher than that loss):', '']
        lines += checks + ['']
    verdicts = verdict_table(main_groups)
    if verdicts:
        lines += ['## Verdict per claim of the paper', '',
                  'DGHM-C minus each baseline on runs with the same seed and fold: mean '
                  'difference [95 % percentile bootstrap interval, seed 0], paired wins, exact '
                  'sign test; "not distinguishable" when the interval holds 0 or fewer than 5 '
                  'pairs exist.', ''] + verdicts + ['']
    ablations = ablation_table(groups)
    if ablations:
        lines += ['## Ablations', '',
                  f'{sum(map(len, ablation_groups.values()))} runs that change one setting of '
                  'a profile (`--cls-loss-mode`, `--density`, `--mu-noisy`, `--mu-clean`, '
                  '`--pu-missing-rate`, `--momentum`, `--batch-size`), each beside the runs '
                  'that differ from it in that setting alone: means over the pairs (same '
                  'seed and fold) both ran, and the paired '
                  'difference changed minus reference [95 % bootstrap interval], wins, and '
                  '"not distinguishable" when the interval holds 0 or fewer than 5 pairs '
                  'exist.', ''] + ablations + ['']
    lines += ["## Our recipe vs the paper's", ''] + recipe_table(main_results or results) + ['']
    grad_histograms = sorted(grad_histograms)  # one order whether computed or found
    if grad_histograms:
        lines += ['## Gradient-norm histograms (paper figures 3 and 6)', '',
                  'g = |sigmoid(x) - t| of every valid anchor of the training tiles, split into '
                  'positives (AP_P), negatives of partially annotated images (AP_N) and '
                  'negatives of normal images (NP_N).', '']
        lines += [f'![{p.stem}]({p.name})' for p in grad_histograms] + ['']
        records = [(p.stem.replace('grad_hist_', ''), json.loads(p.with_suffix('.json')
                                                                 .read_text()))
                   for p in grad_histograms if p.with_suffix('.json').is_file()]
        if records:
            lines += ["Share of each group's anchors by gradient norm (from the histograms' "
                      'JSON files):', ''] + grad_histogram_summary(records) + ['']
    lines += ['## Gradient at the initial score', '',
              'RetinaHead starts every anchor at p = 0.01. |dL/dx| of one positive and one '
              'negative element at that score, computed with autograd from the committed '
              "configs' loss settings (GHM-C and DGHM-C are left out: their weights depend on "
              "the batch's gradient density):", ''] + prior_gradient_section() + ['']
    lines += recipe_section(recipe_runs, out_dir)
    lines += ['## Profiles', ''] + _profile_table(results) + ['']
    machines = OrderedDict()
    for result in results:
        m = result['machine']
        machines[(m['cpu'], m['cores'], m['torch'], m['device'])] = m
    lines += ['## Machines', '']
    lines += [f'- {m["cpu"]}, {m["cores"]} cores, torch {m["torch"]} '
              f'({m["torch_threads"]} threads), device {m["device"]}, Python {m["python"]}'
              for m in machines.values()] + ['']
    lines += ['## Commands', '', '```']
    lines += list(OrderedDict.fromkeys(r['command'] for r in results))
    lines += [report_command, '```', '']
    for section in extra_sections:
        if Path(section).is_file():
            lines += [_demote_headings(Path(section).read_text()), '']
    path = out_dir / 'RESULTS.md'
    path.write_text('\n'.join(lines))
    return path
