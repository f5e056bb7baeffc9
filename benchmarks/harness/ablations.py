"""The ablation section of the report: each ablation beside the run it changes one thing of.

An ablation record is a run whose profile changes one or more of :data:`ABLATION_FIELDS`
(``--cls-loss-mode``, ``--density``, ``--mu-noisy``, ``--mu-clean``, ``--pu-missing-rate``,
``--momentum``, ``--batch-size``) of a
recipe (its named profile with any other overrides). Each of its changed fields is compared
with the runs that differ from it in that field alone (the recipe itself when it is the only
change), on the same protocol, data, missing rate and loss, paired by seed and fold. So
``--batch-size 8 --density normalized`` is compared both with ``--batch-size 8`` (the density
at batch 8) and with ``--density normalized`` (the batch size under the normalized density).
"""
import functools
import inspect
from collections import OrderedDict
from dataclasses import fields
from typing import Dict, List, Optional, Tuple

from .paired_stats import by_pair, pair_key, paired_summary
from .profiles import Profile, base_profile

#: Profile fields a record may change and still be an ablation of its named profile.
ABLATION_FIELDS: Tuple[str, ...] = ('cls_loss_mode', 'density', 'mu_noisy', 'mu_clean',
                                    'pu_missing_rate', 'momentum', 'batch_size')
#: (column, metric source, key) of the ablation table.
ABLATION_METRICS = (('FROC', 'val', 'froc'), ('R-recall', 'train', 'r_recall'),
                    ('R-recall @8 FP/img', 'train', 'r_recall@8fp'))


def ablation_of(record: dict) -> Optional[Tuple[Profile, Dict[str, object]]]:
    """``(recipe, changes)``: the profile ``record`` is an ablation of and the ablation fields
    it changes, or None when it changes none.

    The recipe is the named profile with the record's other changes applied (``cpu`` with
    ``--iters 600 --density normalized`` is an ablation of ``cpu-iters600``).
    """
    base = base_profile(record)
    if base is None:
        return None
    changed = {f.name: record.get(f.name, getattr(base, f.name)) for f in fields(Profile)
               if f.name != 'name'
               and record.get(f.name, getattr(base, f.name)) != getattr(base, f.name)}
    changes = {k: v for k, v in changed.items() if k in ABLATION_FIELDS}
    if not changes:
        return None
    recipe = base.with_overrides(**{k: v for k, v in changed.items() if k not in changes})
    return recipe, changes


def is_ablation(result: dict) -> bool:
    """Whether a result file's run is an ablation (see :func:`ablation_of`)."""
    return ablation_of(result['profile']) is not None


@functools.cache
def _loss_defaults() -> Dict[str, object]:
    """What a mu field's ``None`` means: the DGHMCLoss default the configs keep (imported
    here, when a report is written, so that the benchmark tool starts without torch)."""
    from mmdet_dghm.models.losses import DGHMCLoss
    return {name: p.default for name, p in inspect.signature(DGHMCLoss.__init__).parameters
            .items() if name in ('mu_noisy', 'mu_clean', 'momentum')}


def _value(field: str, value: object) -> str:
    if value is None:
        value = _loss_defaults().get(field, value)
    return f'{value:g}' if isinstance(value, float) else str(value)


def _mean_text(values: Dict[tuple, float]) -> str:
    finite = [v for v in values.values() if v == v]
    return f'{sum(finite) / len(finite):.3f}' if finite else 'n/a'


def ablation_rows(groups: Dict[tuple, List[dict]]) -> List[Tuple[str, ...]]:
    """One row per (ablation group, changed field) with a reference group that ran.

    Args:
        groups (Dict[tuple, List[dict]]): Results by ``(profile, protocol, dataset, drop
            rate, loss)``, profile being the canonical name.

    Returns:
        list[tuple[str, ...]]: (setting, change, held fixed, pairs, then per metric of
        :data:`ABLATION_METRICS`: ablation mean, reference mean, paired difference).
    """
    rows = []
    for (profile, protocol, dataset, rate, loss), runs in groups.items():
        ablation = ablation_of(runs[0]['profile'])
        if ablation is None:
            continue
        base, changes = ablation
        for field, value in changes.items():
            rest = {k: v for k, v in changes.items() if k != field}
            reference = base.with_overrides(**rest).name
            ref_runs = groups.get((reference, protocol, dataset, rate, loss))
            if not ref_runs:
                continue
            held = ', '.join(f'{k} {_value(k, v)}' for k, v in rest.items()) or '-'
            common = set(map(pair_key, runs)) & set(map(pair_key, ref_runs))
            cells = []
            for _, source, key in ABLATION_METRICS:
                a, b = by_pair(runs, source, key), by_pair(ref_runs, source, key)
                cells += [_mean_text({k: a[k] for k in common}),
                          _mean_text({k: b[k] for k in common}),
                          paired_summary(a, b, sign_test_p=False)]
            rows.append((f'{dataset}, {protocol}, missing {rate:.1f}, {loss}, `{base.name}`',
                         f'{field}: {_value(field, getattr(base, field))} -> '
                         f'{_value(field, value)}', held, str(len(common)), *cells))
    return rows


def ablation_table(groups: Dict[tuple, List[dict]]) -> List[str]:
    """Markdown table of :func:`ablation_rows`; [] without ablation runs."""
    rows = ablation_rows(groups)
    if not rows:
        return []
    header = ['Setting', 'Change', 'Held fixed', 'Pairs']
    for label, _, _ in ABLATION_METRICS:
        header += [f'{label} (changed)', f'{label} (reference)', f'Δ {label}, paired']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in sorted(rows, key=lambda r: r[:3])]
    return lines


def split_ablations(groups: Dict[tuple, List[dict]]) -> Tuple[Dict[tuple, List[dict]],
                                                               Dict[tuple, List[dict]]]:
    """``(main, ablations)``: the groups of the recipes' own runs and of ablation runs."""
    main, ablations = OrderedDict(), OrderedDict()
    for key, runs in groups.items():
        (ablations if is_ablation(runs[0]) else main)[key] = runs
    return main, ablations
