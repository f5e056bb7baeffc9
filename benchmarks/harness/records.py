"""The benchmark's result records: loading, checking and grouping them, with no recipe or model.

A record is a run's ``result.json`` (:mod:`benchmarks.harness.runs` writes it). The report is a
function of the records alone: a record names its own group (its profile's name, its protocol,
dataset, missing rate and loss), so editing a recipe regroups nothing already recorded. Records
of an older form are converted once and committed (``benchmarks/archive/convert_records.py``);
this module refuses a record that lacks what the report reads, naming the file and the key,
and records that share a profile name but not its settings.
"""
import json
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Sequence, Tuple

from .loss_names import loss_order

__all__ = ['RESULT_FILE', 'REQUIRED_KEYS', 'ResultSet', 'Setting', 'Group', 'group_of',
           'group_results', 'load_records', 'check_records', 'recorded_profiles']

RESULT_FILE = 'result.json'

#: What the report reads of every record, by section ('' is the record itself).
REQUIRED_KEYS: Dict[str, Tuple[str, ...]] = {
    '': ('run_id', 'spec', 'profile', 'metrics', 'train_metrics', 'test_cfg', 'machine',
         'command', 'train_time_s'),
    'spec': ('protocol', 'dataset', 'loss', 'drop_rate', 'fold', 'seed'),
    'profile': ('name', 'variant', 'iters', 'batch_size', 'pos_fraction', 'crop_size',
                'train_tile', 'lr', 'val_interval', 'pretrained', 'real_scale', 'syn_scale',
                'cls_loss_mode'),
    'metrics': ('digestpath/froc', 'digestpath/froc_complete', 'digestpath/score_thr'),
    'test_cfg': ('score_thr', 'max_per_img'),
    'machine': ('cpu', 'cores', 'torch', 'torch_threads', 'device', 'python'),
}
CONVERT_HINT = ('records of an older form are converted once with '
                'benchmarks/archive/convert_records.py')


class ResultSet(NamedTuple):
    """Runs of one profile, protocol and dataset: one table of the report."""
    profile: str
    protocol: str
    dataset: str


class Setting(NamedTuple):
    """A result set at one missing rate: what the losses are compared on."""
    profile: str
    protocol: str
    dataset: str
    missing_rate: float

    @property
    def result_set(self) -> ResultSet:
        return ResultSet(self.profile, self.protocol, self.dataset)


class Group(NamedTuple):
    """Runs that differ only by seed and fold: one row of a table."""
    profile: str
    protocol: str
    dataset: str
    missing_rate: float
    loss: str

    @property
    def setting(self) -> Setting:
        return Setting(self.profile, self.protocol, self.dataset, self.missing_rate)

    @property
    def result_set(self) -> ResultSet:
        return ResultSet(self.profile, self.protocol, self.dataset)


def group_of(result: dict) -> Group:
    """The group a record names: its profile's name, protocol, dataset, missing rate, loss."""
    spec = result['spec']
    return Group(result['profile']['name'], spec['protocol'], spec['dataset'],
                 float(spec['drop_rate']), spec['loss'])


def group_results(results: Iterable[dict]) -> Dict[Group, List[dict]]:
    """Records by :func:`group_of`: settings in sorted order, losses in the report's order."""
    groups: Dict[Group, List[dict]] = defaultdict(list)
    for result in results:
        groups[group_of(result)].append(result)
    return OrderedDict(sorted(groups.items(),
                              key=lambda kv: (kv[0].setting, loss_order(kv[0].loss))))


def _missing_keys(result: dict) -> List[str]:
    missing = []
    for section, keys in REQUIRED_KEYS.items():
        where = result.get(section) if section else result
        if not isinstance(where, dict):
            if section in result:
                missing.append(f'{section} (not a mapping)')
            continue
        missing += [f'{section}.{k}' if section else k for k in keys if k not in where]
    return missing


def check_records(results: Sequence[dict], paths: Sequence[Path]) -> None:
    """Refuse records the report cannot read as they are.

    Raises:
        ValueError: Naming the file, for a record without a key of :data:`REQUIRED_KEYS`, a
            profile with other fields than the first record's, or two records that share a
            profile name but not its settings (a recipe changed under the same name).
    """
    first: Dict[str, Tuple[dict, Path]] = {}
    fields = None
    for result, path in zip(results, paths):
        missing = _missing_keys(result)
        if missing:
            raise ValueError(f'{path}: not a benchmark record the report reads: missing '
                             f'{", ".join(missing)} ({CONVERT_HINT})')
        profile = result['profile']
        if fields is None:
            fields = (set(profile), path)
        elif set(profile) != fields[0]:
            diff = sorted(set(profile) ^ fields[0])
            raise ValueError(f"{path}: its profile has other fields than {fields[1]}'s "
                             f'({", ".join(diff)}); {CONVERT_HINT}')
        if profile['name'] not in first:
            first[profile['name']] = (profile, path)
            continue
        other, other_path = first[profile['name']]
        if profile != other:
            diff = sorted(k for k in profile if profile[k] != other[k])
            raise ValueError(
                f'{path}: profile {profile["name"]!r} with other settings than in {other_path} '
                f'({", ".join(diff)}): a recipe changed under the same name; rename the older '
                f"records' profile ({CONVERT_HINT})")


def load_records(work_dirs: Sequence[Path]) -> Tuple[List[dict], Dict[str, Path]]:
    """Every ``result.json`` under ``work_dirs`` (sorted paths), checked (:func:`check_records`).

    Returns:
        tuple: ``(records, run_dirs)``, ``run_dirs`` mapping each run id to its folder (its
        mmengine logs).

    Raises:
        FileNotFoundError: When no record exists under ``work_dirs``.
        ValueError: For a record the report cannot read, or a run id recorded twice.
    """
    results, paths, run_dirs = [], [], {}
    for work_dir in work_dirs:
        for path in sorted(Path(work_dir).rglob(RESULT_FILE)):
            try:
                result = json.loads(path.read_text())
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}: not valid JSON ({err})') from err
            run_id = result.get('run_id')
            if run_id in run_dirs:
                raise ValueError(f'{path}: run id {run_id!r} is recorded in '
                                 f'{run_dirs[run_id]} too')
            results.append(result)
            paths.append(path)
            run_dirs[run_id] = path.parent
    if not results:
        raise FileNotFoundError(f'benchmark report: no {RESULT_FILE} under '
                                f'{", ".join(map(str, work_dirs))}')
    check_records(results, paths)
    return results, run_dirs


def recorded_profiles(results: Iterable[dict]) -> Dict[str, dict]:
    """The distinct recorded profiles by name, in order of first appearance."""
    profiles: Dict[str, dict] = OrderedDict()
    for result in results:
        profiles.setdefault(result['profile']['name'], result['profile'])
    return profiles
