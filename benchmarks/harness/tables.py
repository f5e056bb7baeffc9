"""The report's tables as functions of the grouped result records (no recipe, no model).

Each table has its data function (numbers a test can check) and its Markdown rendering.
"""
import math
from collections import OrderedDict, defaultdict
from typing import Dict, List, Mapping, NamedTuple, Sequence, Tuple

import numpy as np

from .loss_names import loss_label
from .paired_stats import by_pair, metric_values, paired_summary
from .records import Group, Setting, recorded_profiles

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
#: Columns measured at the metric's operating threshold (its ``score_thr``).
OPERATING_POINT_COLUMNS = ('Precision', 'NFPs', 'Recall')

Groups = Dict[Group, List[dict]]


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


def froc_truncated(result: dict) -> bool:
    """Whether a run's FROC may miss part of the ranking: its curve stopped before 32 false
    positives per normal image (``froc_complete`` 0: the model's test-time ``score_thr`` or
    ``max_per_img`` cut it)."""
    return result['metrics']['digestpath/froc_complete'] < 1.0


def truncation_note(runs: Sequence[dict]) -> str:
    """``''`` or ``' (FROC truncated in 2 of 6 runs)'``."""
    count = sum(map(froc_truncated, runs))
    return f' (FROC truncated in {count} of {len(runs)} runs)' if count else ''


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


def by_setting(groups: Groups) -> Dict[Setting, Dict[str, List[dict]]]:
    """The groups' runs by setting, then by loss (the groups' order)."""
    settings: Dict[Setting, Dict[str, List[dict]]] = defaultdict(OrderedDict)
    for group, runs in groups.items():
        settings[group.setting][group.loss] = runs
    return settings


def measured(runs: Sequence[dict], source: str, key: str) -> bool:
    """Whether any of ``runs`` has a finite value of the metric (the training-image metrics
    exist only where boxes were removed)."""
    return any(math.isfinite(v) for v in metric_values(runs, source, key))


def results_table(groups: Groups, protocol: str) -> List[str]:
    """Markdown rows of one protocol: loss (and missing rate) x metric, mean ± std."""
    columns = TABLE3_COLUMNS if protocol == 'table3' else TABLE4_COLUMNS
    thresholds = sorted({r['metrics']['digestpath/score_thr']
                         for runs in groups.values() for r in runs})
    at = ' / '.join(f'{t:g}' for t in thresholds)
    header = ['Loss'] + (['Missing rate'] if protocol == 'table4' else [])
    header += [f'{c[0]} (score >= {at})' if c[0] in OPERATING_POINT_COLUMNS else c[0]
               for c in columns] + ['Runs (seeds x folds)', 'Train s/run (CPU)']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for group, runs in groups.items():
        row = [loss_label(group.loss)]
        row += [f'{group.missing_rate:.1f}'] if protocol == 'table4' else []
        row += [format_mean_std(metric_values(runs, src, k)) for _, src, k in columns]
        row += [str(len(runs)), train_time_text(runs)]
        lines.append('| ' + ' | '.join(row) + ' |')
    return lines


def pivot_means(groups: Groups, source: str, key: str) -> Dict[str, Dict[float, float]]:
    """One metric's mean per loss and missing rate (losses in the groups' order)."""
    cells: Dict[str, Dict[float, float]] = OrderedDict()
    for group, runs in groups.items():
        cells.setdefault(group.loss, {})[group.missing_rate] = mean_std(
            metric_values(runs, source, key))[0]
    return cells


def pivot_table(groups: Groups, source: str, key: str) -> List[str]:
    """Markdown table of :func:`pivot_means`: a row per loss, a column per missing rate, the
    best mean of each column in bold (Table 4 at a glance)."""
    rates = sorted({group.missing_rate for group in groups})
    cells = pivot_means(groups, source, key)
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
        lines.append(f'| {loss_label(loss)} | ' + ' | '.join(row) + ' |')
    return lines


def paired_text(runs_a: Sequence[dict], runs_b: Sequence[dict], source: str, key: str) -> str:
    """:func:`paired_summary` of a - b over the (seed, fold) pairs run with both losses."""
    return paired_summary(by_pair(runs_a, source, key), by_pair(runs_b, source, key))


class HistogramShares(NamedTuple):
    """One group of a gradient-norm histogram: its anchors and the share of them with a small
    (g < 0.1), middle or large (g >= 0.9) norm."""
    name: str
    group: str
    anchors: int
    shares: Tuple[float, float, float]


def grad_histogram_shares(records: Sequence[Tuple[str, dict]]) -> List[HistogramShares]:
    """:class:`HistogramShares` of each non-empty group of gradient-norm histogram records
    (``(name, record)``, the records of ``python -m benchmarks.grad_histogram``)."""
    rows = []
    for name, record in records:
        bins = int(record['bins'])
        low, high = max(bins // 10, 1), bins - max(bins // 10, 1)
        for group in record['groups']:
            counts = np.asarray(record['counts'][group], float)
            total = counts.sum()
            if total == 0:
                continue
            rows.append(HistogramShares(name, group, int(total), tuple(
                float(v / total) for v in (counts[:low].sum(), counts[low:high].sum(),
                                           counts[high:].sum()))))
    return rows


def grad_histogram_summary(records: Sequence[Tuple[str, dict]]) -> List[str]:
    """Markdown table of :func:`grad_histogram_shares`."""
    lines = ['| Model | Group | Anchors | g < 0.1 | 0.1 <= g < 0.9 | g >= 0.9 |',
             '|---|---|---|---|---|---|']
    for row in grad_histogram_shares(records):
        lines.append(f'| {row.name} | {row.group} | {row.anchors:,} | '
                     + ' | '.join(f'{100 * v:.2f} %' for v in row.shares) + ' |')
    return lines


def prior_gradient_table(settings: Mapping[str, dict]) -> List[str]:
    """Markdown table of the ``gradient_at_prior`` entries of ``loss_settings.json`` (written
    by ``python -m benchmarks.loss_settings``)."""
    lines = ['| Loss | positive | negative | positive / negative |', '|---|---|---|---|']
    for loss, grad in settings['gradient_at_prior'].items():
        pos, neg = grad['positive'], grad['negative']
        lines.append(f'| {loss_label(loss)} | {pos:.4g} | {neg:.4g} | {pos / neg:.4g} |')
    return lines


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
     "recall and precision at the metric's operating threshold"),
)


def _recipe_values(profile: dict, test_cfg: dict) -> Tuple[str, ...]:
    head = ('256 channels, 4 convs' if profile['variant'] == 'r18'
            else '64 channels, 2 convs')
    return (
        'ImageNet ResNet-18' if profile['pretrained'] else 'random (from scratch)',
        f'{profile["iters"]} iterations, batch {profile["batch_size"]}',
        f'{profile["crop_size"]} px crops of {profile["train_tile"]} px tiles',
        f'real {40 * profile["real_scale"] / 2:g}x, synthetic '
        f'{40 * profile["syn_scale"]:g}x-sized cells',
        f'Adam {profile["lr"]:g}',
        head,
        f'{profile["pos_fraction"]:g} positive',
        profile['cls_loss_mode'],
        f'score_thr {test_cfg["score_thr"]}, max_per_img {test_cfg["max_per_img"]}')


def recipe_table(results: Sequence[dict]) -> List[str]:
    """Markdown table "our recipe vs the paper's": a column per profile (its latest
    evaluation settings), the paper's values, and why ours differ."""
    profiles: Dict[str, Tuple[str, ...]] = OrderedDict()
    for result in results:
        profiles[result['profile']['name']] = _recipe_values(result['profile'],
                                                             result['test_cfg'])
    names = list(profiles)
    lines = ['| Setting | Paper | ' + ' | '.join(f'`{n}`' for n in names) + ' | Why |',
             '|---|---|' + '---|' * len(names) + '---|']
    for index, (setting, paper, why) in enumerate(RECIPE_ROWS):
        lines.append(f'| {setting} | {paper} | '
                     + ' | '.join(profiles[n][index] for n in names) + f' | {why} |')
    return lines


def profile_table(results: Sequence[dict]) -> List[str]:
    profiles = recorded_profiles(results)
    names = list(profiles)
    keys = [key for key in next(iter(profiles.values())) if key != 'name']
    lines = ['| Parameter | ' + ' | '.join(names) + ' |', '|---|' + '---|' * len(names)]
    for key in keys:
        lines.append(f'| {key} | ' + ' | '.join(str(profiles[n][key]) for n in names) + ' |')
    return lines
