"""The report's verdict: every method against CE, and the paper's claims for DGHM-C.

:func:`verdict_lines` is the report's opening (a ratio to CE per method and setting, paired by
seed and fold); :func:`verdict_table` and :func:`claim_check` are the detail sections on the
paper's claims. Each has its data function (:func:`verdict_cells`, :func:`verdict_claims`,
:func:`claim_ranks`) and its Markdown rendering.
"""
import math
from collections import defaultdict
from typing import Dict, List, NamedTuple, Optional, Tuple

from .convergence import RatioCell, reference_rows
from .loss_names import loss_label, loss_order
from .paired_stats import (
    NOT_DISTINGUISHABLE,
    PairedComparison,
    by_pair,
    compare,
    comparison_text,
    metric_values,
    paired_differences,
)
from .records import ResultSet, Setting
from .tables import (
    CLAIM_METRICS,
    R_RECALL_AT_FP,
    Groups,
    by_setting,
    froc_truncated,
    mean_std,
    measured,
    paired_text,
    truncation_note,
)

#: The metrics of the opening verdict: the paper's two claims, held-out FROC and, where boxes
#: were removed, the threshold-free recall of the removed cells.
VERDICT_METRICS = (('FROC', 'val', 'froc'), R_RECALL_AT_FP[1])
#: The losses each claim of the paper is checked against (its Table 4 also names SCE).
VERDICT_OPPONENTS = ('ce', 'focal', 'ghmc', 'ghmc-mmdet', 'sce')


class VerdictColumn(NamedTuple):
    """One column of the verdict: a metric on one setting."""
    setting: Setting
    label: str
    source: str
    key: str


def verdict_settings(groups: Groups) -> List[Setting]:
    """The settings the verdict reads: per protocol and dataset, the profile with the most
    records, at its highest missing rate (synthetic data first)."""
    counts: Dict[ResultSet, int] = defaultdict(int)
    rates: Dict[ResultSet, float] = defaultdict(float)
    for group, runs in groups.items():
        counts[group.result_set] += len(runs)
        rates[group.result_set] = max(rates[group.result_set], group.missing_rate)
    best: Dict[Tuple[str, str], ResultSet] = {}
    for result_set in sorted(counts):
        where = (result_set.protocol, result_set.dataset)
        if where not in best or counts[result_set] > counts[best[where]]:
            best[where] = result_set
    return sorted((Setting(*s, rates[s]) for s in best.values()),
                  key=lambda s: (s.dataset != 'synthetic', s.protocol))


def verdict_columns(groups: Groups) -> List[VerdictColumn]:
    """:data:`VERDICT_METRICS` on each of :func:`verdict_settings` where CE measured them."""
    settings = by_setting(groups)
    return [VerdictColumn(setting, label, source, key)
            for setting in verdict_settings(groups) if 'ce' in settings[setting]
            for label, source, key in VERDICT_METRICS
            if measured(settings[setting]['ce'], source, key)]


def verdict_cells(groups: Groups) -> Dict[str, List[Optional[RatioCell]]]:
    """Each loss (but CE) against CE in every :func:`verdict_columns` column: the
    :class:`RatioCell` of its runs paired with CE's by seed and fold, None where it did not
    run; losses in the report's order, those of no column left out."""
    settings = by_setting(groups)
    columns = verdict_columns(groups)
    cells: Dict[str, List[Optional[RatioCell]]] = {}
    for loss in sorted({loss for c in columns for loss in settings[c.setting]}, key=loss_order):
        if loss == 'ce':
            continue
        row = []
        for column in columns:
            by_loss = settings[column.setting]
            metric = ((column.label, column.source, column.key), )
            row.append(reference_rows({'ce': by_loss['ce'], loss: by_loss[loss]}, 'ce',
                                      metric)[1].cells[0] if loss in by_loss else None)
        if any(cell is not None for cell in row):
            cells[loss] = row
    return cells


def _setting_text(setting: Setting) -> str:
    where = (f'{setting.missing_rate:.0%} missing' if setting.missing_rate
             else 'natural annotation')
    return f'{setting.dataset}, {where} (`{setting.profile}`)'


def _cell_text(cell: Optional[RatioCell]) -> str:
    if cell is None:
        return 'not run'
    c = cell.comparison
    ratio = f'{cell.ratio:.2f}x' if math.isfinite(cell.ratio) else 'n/a'
    text = f'{ratio} ({c.wins} of {c.n})'
    return text if c.verdict == NOT_DISTINGUISHABLE else f'{text} {c.verdict}'


def verdict_lines(groups: Groups) -> List[str]:
    """The report's opening: the paper's claims for DGHM-C counted over the comparisons, and
    a table of every method against CE (:func:`verdict_cells`); [] without CE runs."""
    columns = verdict_columns(groups)
    cells = verdict_cells(groups)
    if not cells:
        return []
    text = ('**Verdict.** Each method against CE on the runs both made with the same seed and '
            "fold: the ratio of its mean to CE's, (k of n) the pairs where it scored higher, "
            'and "higher" / "lower" where the 95 % bootstrap interval of the paired difference '
            'excludes 0 with at least 5 pairs. Columns: held-out FROC and, where boxes were '
            'removed, the recall of the removed cells at 8 false positives per image, on each '
            "data set's most-run recipe at its highest missing rate.")
    if 'dghmc' in cells:
        verdicts = [c.comparison.verdict for c in cells['dghmc'] if c is not None]
        text += (" The paper's claims, DGHM-C above CE on both: DGHM-C is "
                 f'higher in {verdicts.count("higher")}, lower in {verdicts.count("lower")} and '
                 f'not distinguishable in {verdicts.count(NOT_DISTINGUISHABLE)} of these '
                 f'{len(verdicts)} comparisons.')
    header = ['Against CE'] + [f'{c.label}, {_setting_text(c.setting)}' for c in columns]
    lines = [text, '', '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join([loss_label(loss)] + [_cell_text(c) for c in row]) + ' |'
              for loss, row in cells.items()]
    return lines


class Claim(NamedTuple):
    """One claim of the paper on one setting: DGHM-C's metric against each opponent.

    Attributes:
        label (str): What is claimed where (the table's first column).
        setting (Setting): The setting.
        by_loss (dict): Its runs by loss.
        source (str): Metric source, ``'val'`` or ``'train'``.
        key (str): Metric key.
        truncated (int): Runs of the setting whose FROC is truncated (FROC claims; else 0).
    """
    label: str
    setting: Setting
    by_loss: Dict[str, List[dict]]
    source: str
    key: str
    truncated: int = 0


def verdict_claims(groups: Groups) -> List[Claim]:
    """The paper's two claims wherever DGHM-C ran and measured the metric: R-recall (at the
    operating threshold and at 8 FP per image) at each profile's highest missing rate (Table
    4) and held-out FROC under natural annotation (Table 3); sorted by label and setting."""
    settings = by_setting(groups)
    highest: Dict[Tuple[str, str], float] = defaultdict(float)
    for setting in settings:
        if setting.protocol == 'table4':
            where = (setting.profile, setting.dataset)
            highest[where] = max(highest[where], setting.missing_rate)
    claims = []
    for setting, by_loss in settings.items():
        if 'dghmc' not in by_loss:
            continue
        rate = setting.missing_rate
        if setting.protocol == 'table4' and rate == highest[(setting.profile, setting.dataset)]:
            claims.append(Claim(f'R-recall at missing rate {rate:.1f}', setting, by_loss,
                                'train', 'r_recall'))
            label, source, key = R_RECALL_AT_FP[1]
            claims.append(Claim(f'{label} at missing rate {rate:.1f}', setting, by_loss,
                                source, key))
        elif setting.protocol == 'table3':
            runs = [r for loss_runs in by_loss.values() for r in loss_runs]
            claims.append(Claim('FROC, natural annotation' + truncation_note(runs), setting,
                                by_loss, 'val', 'froc', sum(map(froc_truncated, runs))))
    claims = [c for c in claims if measured(c.by_loss['dghmc'], c.source, c.key)]
    return sorted(claims, key=lambda c: (c.label, c.setting.profile, c.setting.dataset))


def claim_comparisons(claim: Claim) -> Dict[str, Optional[PairedComparison]]:
    """DGHM-C minus each of :data:`VERDICT_OPPONENTS` on a claim's metric, paired by seed and
    fold (None for an opponent that did not run)."""
    by_loss = claim.by_loss
    mine = by_pair(by_loss['dghmc'], claim.source, claim.key)
    return {loss: compare(paired_differences(mine, by_pair(by_loss[loss], claim.source,
                                                           claim.key)))
            if loss in by_loss else None for loss in VERDICT_OPPONENTS}


def verdict_table(groups: Groups) -> List[str]:
    """Markdown table of :func:`verdict_claims` against each of :data:`VERDICT_OPPONENTS`,
    paired by seed and fold; [] without a claim."""
    claims = verdict_claims(groups)
    if not claims:
        return []
    lines = ['| Claim | Profile | Data | ' + ' | '.join(
        f'DGHM-C - {loss_label(loss)}' for loss in VERDICT_OPPONENTS) + ' |',
        '|---|---|---|' + '---|' * len(VERDICT_OPPONENTS)]
    for claim in claims:
        cells = [comparison_text(c) if c is not None else 'not run'
                 for c in claim_comparisons(claim).values()]
        lines.append(f'| {claim.label} | `{claim.setting.profile}` | {claim.setting.dataset} | '
                     + ' | '.join(cells) + ' |')
    return lines


class ClaimRank(NamedTuple):
    """Where DGHM-C's mean ranks among the losses of one setting on one metric."""
    setting: Setting
    title: str
    source: str
    key: str
    means: Dict[str, float]
    rank: int


def claim_ranks(groups: Groups) -> List[ClaimRank]:
    """DGHM-C's rank by mean (1: best) among the losses that measured each of
    :data:`CLAIM_METRICS`, per setting with DGHM-C and another loss."""
    ranks = []
    for setting, by_loss in by_setting(groups).items():
        if 'dghmc' not in by_loss or len(by_loss) < 2:
            continue
        for title, source, key in CLAIM_METRICS:
            means = {loss: mean_std(metric_values(runs, source, key))[0]
                     for loss, runs in by_loss.items()}
            means = {k: v for k, v in means.items() if math.isfinite(v)}
            if 'dghmc' not in means or len(means) < 2:
                continue
            ranked = sorted(means, key=lambda k: -means[k])
            ranks.append(ClaimRank(setting, title, source, key, means,
                                   ranked.index('dghmc') + 1))
    return ranks


def claim_check(groups: Groups) -> List[str]:
    """:func:`claim_ranks` as a Markdown list, with DGHM-C's paired differences."""
    settings = by_setting(groups)
    lines = []
    for c in claim_ranks(groups):
        by_loss = settings[c.setting]
        best_other = max((k for k in c.means if k != 'dghmc'), key=lambda k: c.means[k])
        verdict = ('DGHM-C is best' if c.rank == 1 else
                   f'DGHM-C ranks {c.rank} of {len(c.means)}')
        if c.key == 'froc':
            verdict += truncation_note([r for runs in by_loss.values() for r in runs])
        paired = '; '.join(
            f'{loss_label(loss)} {paired_text(by_loss["dghmc"], by_loss[loss], c.source, c.key)}'
            for loss in by_loss if loss != 'dghmc')
        s = c.setting
        lines.append(
            f'- {s.dataset}, {s.protocol}, `{s.profile}`, missing rate {s.missing_rate:.1f}, '
            f'{c.title}: {verdict} (DGHM-C {c.means["dghmc"]:.3f}, best other '
            f'{loss_label(best_other)} {c.means[best_other]:.3f}). DGHM-C minus, paired by '
            f'seed and fold (mean [95 % bootstrap interval]): {paired}.')
    return lines
