"""The ablation section of the report: each ablation beside the runs it changes one thing of.

An ablation is a recorded profile that changes one or more of :data:`ABLATION_FIELDS`
(``--cls-loss-mode``, ``--density``, ``--mu-noisy``, ``--mu-clean``, ``--pu-missing-rate``,
``--momentum``, ``--batch-size``) of another recorded profile, its recipe, and nothing else;
its name extends the recipe's (the run tool names a changed profile by adding its changes:
``converge-momentum0.75`` of ``converge``, ``smoke-densitynormalized-iters2`` of
``smoke-iters2``). Both come from the records alone (:func:`find_ablations`). Each changed
field is compared with the recorded profile that differs from the ablation in that field
alone, on the same protocol, data, missing rate and loss, paired by seed and fold. So
``--batch-size 8 --density normalized`` is compared both with ``--batch-size 8`` (the density
at batch 8) and with ``--density normalized`` (the batch size under the normalized density).
"""
from collections import OrderedDict
from typing import Dict, List, Mapping, NamedTuple, Optional, Tuple

from .paired_stats import (
    PairedComparison,
    by_pair,
    compare,
    comparison_text,
    pair_key,
    paired_differences,
)
from .records import Group, recorded_profiles

__all__ = ['ABLATION_FIELDS', 'ABLATION_METRICS', 'Ablation', 'find_ablations',
           'AblationRow', 'ablation_rows', 'ablation_table', 'split_ablations']

#: Profile fields a profile may change and still be an ablation of its recipe.
ABLATION_FIELDS: Tuple[str, ...] = ('cls_loss_mode', 'density', 'mu_noisy', 'mu_clean',
                                    'pu_missing_rate', 'momentum', 'batch_size')
#: (column, metric source, key) of the ablation table.
ABLATION_METRICS = (('FROC', 'val', 'froc'), ('R-recall', 'train', 'r_recall'),
                    ('R-recall @8 FP/img', 'train', 'r_recall@8fp'))


class Ablation(NamedTuple):
    """A recorded profile as an ablation: the recipe it changes, and each changed field's
    ``(recipe's value, ablation's value)``."""
    recipe: str
    changes: Dict[str, Tuple[object, object]]


#: What a field absent from a record compares as: different from every recorded value.
_ABSENT = object()


def _differences(a: dict, b: dict) -> List[str]:
    return sorted(k for k in a.keys() | b.keys()
                  if k != 'name' and a.get(k, _ABSENT) != b.get(k, _ABSENT))


def find_ablations(profiles: Mapping[str, dict]) -> Dict[str, Ablation]:
    """The ablations among recorded profiles (by name; see the module's docstring).

    Args:
        profiles (Mapping[str, dict]): Recorded profiles by name
            (:func:`benchmarks.harness.records.recorded_profiles`).

    Returns:
        dict: ``{name: Ablation}`` of each profile that changes only :data:`ABLATION_FIELDS`
        of a recorded recipe whose name its own extends (holds every ``-``-separated part of
        it, and more); the recipe is the one of fewest parts.
    """
    found = {}
    for name, profile in profiles.items():
        parts = set(name.split('-'))
        recipes = sorted((n for n in profiles if set(n.split('-')) < parts),
                         key=lambda n: (len(n.split('-')), n))
        for recipe in recipes:
            changed = _differences(profile, profiles[recipe])
            if changed and set(changed) <= set(ABLATION_FIELDS):
                found[name] = Ablation(recipe, {k: (profiles[recipe][k], profile[k])
                                                for k in changed})
                break
    return found


def split_ablations(groups: Dict[Group, List[dict]]) -> Tuple[Dict[Group, List[dict]],
                                                               Dict[Group, List[dict]]]:
    """``(main, ablations)``: the groups of the recipes' own runs and of ablation runs."""
    ablations = find_ablations(recorded_profiles(r for runs in groups.values() for r in runs))
    main, changed = OrderedDict(), OrderedDict()
    for group, runs in groups.items():
        (changed if group.profile in ablations else main)[group] = runs
    return main, changed


class AblationRow(NamedTuple):
    """One changed field of one ablation group against its reference, on the pairs both ran.

    ``metrics`` holds, per :data:`ABLATION_METRICS` entry, ``(ablation mean, reference mean,
    paired comparison ablation - reference)``.
    """
    group: Group
    recipe: str
    field: str
    values: Tuple[object, object]
    held_fixed: Dict[str, object]
    pairs: int
    metrics: Tuple[Tuple[float, float, PairedComparison], ...]


def _mean(values: Dict[tuple, float]) -> float:
    finite = [v for v in values.values() if v == v]
    return sum(finite) / len(finite) if finite else float('nan')


def _reference(profiles: Mapping[str, dict], name: str, field: str) -> Optional[str]:
    """The recorded profile that differs from ``name`` in ``field`` alone."""
    return next((other for other in profiles
                 if _differences(profiles[name], profiles[other]) == [field]), None)


def ablation_rows(groups: Dict[Group, List[dict]]) -> List[AblationRow]:
    """One row per (ablation group, changed field) whose reference group ran, in the order
    of setting, change and values held fixed."""
    profiles = recorded_profiles(r for runs in groups.values() for r in runs)
    ablations = find_ablations(profiles)
    rows = []
    for group, runs in groups.items():
        ablation = ablations.get(group.profile)
        if ablation is None:
            continue
        for field, values in ablation.changes.items():
            reference = _reference(profiles, group.profile, field)
            ref_runs = groups.get(group._replace(profile=reference)) if reference else None
            if not ref_runs:
                continue
            common = set(map(pair_key, runs)) & set(map(pair_key, ref_runs))
            metrics = []
            for _, source, key in ABLATION_METRICS:
                a, b = by_pair(runs, source, key), by_pair(ref_runs, source, key)
                metrics.append((_mean({k: a[k] for k in common}),
                                _mean({k: b[k] for k in common}),
                                compare(paired_differences(a, b))))
            rows.append(AblationRow(
                group, ablation.recipe, field, values,
                {k: v[1] for k, v in ablation.changes.items() if k != field}, len(common),
                tuple(metrics)))
    return rows


def _value(field: str, value: object, defaults: Mapping[str, object]) -> str:
    """A setting as the table shows it; None (the config's) as the loss's default when
    ``defaults`` has it."""
    if value is None:
        value = defaults.get(field, value)
    return f'{value:g}' if isinstance(value, float) else str(value)


def ablation_table(groups: Dict[Group, List[dict]],
                   defaults: Mapping[str, object] = None) -> List[str]:
    """Markdown table of :func:`ablation_rows`; [] without an ablation that has a reference.

    Args:
        groups (Dict[Group, List[dict]]): Every group of the records.
        defaults (Mapping[str, object]): What a None setting means (the ``DGHMCLoss``
            defaults of ``benchmarks/loss_settings.json``), shown in its place.
    """
    defaults = defaults or {}
    cells = []
    for row in ablation_rows(groups):
        g = row.group
        before, after = (_value(row.field, v, defaults) for v in row.values)
        held = ', '.join(f'{k} {_value(k, v, defaults)}' for k, v in row.held_fixed.items())
        line = [f'{g.dataset}, {g.protocol}, missing {g.missing_rate:.1f}, {g.loss}, '
                f'`{row.recipe}`', f'{row.field}: {before} -> {after}', held or '-',
                str(row.pairs)]
        for mean, ref_mean, comparison in row.metrics:
            line += [f'{mean:.3f}' if mean == mean else 'n/a',
                     f'{ref_mean:.3f}' if ref_mean == ref_mean else 'n/a',
                     comparison_text(comparison, sign_test_p=False)]
        cells.append(line)
    if not cells:
        return []
    header = ['Setting', 'Change', 'Held fixed', 'Pairs']
    for label, _, _ in ABLATION_METRICS:
        header += [f'{label} (changed)', f'{label} (reference)', f'Δ {label}, paired']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(line) + ' |' for line in sorted(cells, key=lambda c: c[:3])]
    return lines
