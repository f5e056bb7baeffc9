"""One-off: bring run records of older recipes to the form the report reads.

The report (``python -m benchmarks.report``) is a function of the records and reads them as
they are. Records written before a field or a metric existed were converted once by this
script, and the converted records committed; it was run as::

    python benchmarks/archive/convert_records.py benchmarks/converge_runs \\
        benchmarks/archive/early_stopped/gpu_runs

What it does to a run folder, each step only where the record lacks it (so a second run
changes nothing), noting each in the record's ``converted`` list:

- Profile fields added after the run get the value that reproduces how it ran
  (:data:`ADDED_PROFILE_FIELDS`), in ``result.json`` and ``spec.json``.
- Profiles whose recipe changed under the same name get the name the run tool gives those
  settings today (:data:`RENAMED_PROFILES`: ``gpu-real`` drew one positive tile per negative,
  today's ``gpu-real`` one per three), in the profile and the spec.
- Evaluations made with the configs' older test-time ``score_thr`` 0.05 (before the metric
  recorded ``froc_complete``): ``froc_complete`` 0 (the ranking below 0.05 is cut), the
  metric's operating ``score_thr`` 0.5, NaN for the threshold-free recalls it did not
  measure, and the ``test_cfg`` of the configs then (:data:`OLD_TEST_CFG`).
- mmengine logs that recorded every evaluation at step 0: each evaluation's step becomes its
  iteration (every ``val_interval`` iterations, then the one after training, in log order;
  such runs never resumed, so only their latest log is converted: an earlier one is a
  restarted attempt's).
"""
import argparse
import json
import math
from pathlib import Path
from typing import List, Optional

#: Profile fields added after some records were written, with the value that ran before.
ADDED_PROFILE_FIELDS = {
    'syn_lookalike_density': 1.0, 'syn_mimic_coverage': 0.0, 'cls_loss_mode': 'all_levels',
    'density': 'paper', 'mu_noisy': None, 'mu_clean': None, 'pu_missing_rate': None,
    'momentum': None, 'model_options': {},
}
#: Recorded name -> (settings that mark the older recipe, the name of those settings now).
RENAMED_PROFILES = {'gpu-real': ({'pos_fraction': 0.5}, 'gpu-real-posfraction0.5')}
#: ``model.test_cfg`` of the DigestPath configs before the test-time score threshold was 0.
OLD_TEST_CFG = {'nms_pre': 1000, 'min_bbox_size': 0, 'score_thr': 0.05,
                'nms': {'type': 'nms', 'iou_threshold': 0.5}, 'max_per_img': 500}
#: The metric's operating threshold of recall, precision and NFPs (DigestPathMetric's).
OPERATING_SCORE_THR = 0.5
#: Threshold-free recalls the older metric did not report (held-out, training images).
UNMEASURED = {'metrics': ('recall@1fp', 'recall@8fp'),
              'train_metrics': ('recall@1fp', 'recall@8fp', 'r_recall@1fp', 'r_recall@8fp')}
CONVERTER = 'benchmarks/archive/convert_records.py'


def convert_profile(profile: dict, notes: List[str]) -> dict:
    """The profile with :data:`ADDED_PROFILE_FIELDS` filled in and renamed per
    :data:`RENAMED_PROFILES`."""
    profile = dict(profile)
    added = [k for k in ADDED_PROFILE_FIELDS if k not in profile]
    for key in added:
        profile[key] = ADDED_PROFILE_FIELDS[key]
    if added:
        notes.append(f'profile fields added with the values the run used: {", ".join(added)}')
    marks, name = RENAMED_PROFILES.get(profile['name'], (None, None))
    if marks is not None and all(profile[k] == v for k, v in marks.items()):
        notes.append(f'profile renamed {profile["name"]!r} -> {name!r} (its recipe changed '
                     'under the old name)')
        profile['name'] = name
    return profile


def convert_metrics(result: dict, notes: List[str]) -> None:
    """Fill what an evaluation under the older test-time threshold lacks (in place)."""
    if 'digestpath/froc_complete' in result['metrics']:
        return
    result['metrics']['digestpath/froc_complete'] = 0.0
    for field in ('metrics', 'train_metrics'):
        if not result[field]:
            continue
        result[field].setdefault('digestpath/score_thr', OPERATING_SCORE_THR)
        for key in UNMEASURED[field]:
            if field == 'metrics' or 'digestpath/r_recall' in result[field]:
                result[field].setdefault(f'digestpath/{key}', math.nan)
    result.setdefault('test_cfg', dict(OLD_TEST_CFG))
    notes.append('evaluated under test score_thr 0.05: froc_complete 0, operating score_thr '
                 '0.5, the threshold-free recalls it did not measure NaN, test_cfg of the '
                 'configs then')


def convert_logs(run_dir: Path, profile: dict, notes: List[str]) -> None:
    """Give the evaluations of logs that recorded them at step 0 their iteration."""
    logs = sorted(run_dir.glob('*/vis_data/scalars.json'))
    if not logs:
        return
    records = [json.loads(line) for line in logs[-1].read_text().splitlines() if line.strip()]
    evaluations = [r for r in records if 'digestpath/froc' in r]
    if not evaluations or any(r.get('step', 0) != 0 for r in evaluations):
        return
    iters, interval = profile['iters'], profile['val_interval']
    during = [interval * (k + 1) for k in range(iters // interval if interval else 0)]
    steps = during[:len(evaluations)] + [iters] * max(len(evaluations) - len(during), 0)
    for record, step in zip(evaluations, steps):
        record['step'] = step
    logs[-1].write_text(''.join(json.dumps(r) + '\n' for r in records))
    notes.append(f'evaluations of {logs[-1].relative_to(run_dir)} logged at step 0 given '
                 f'their iterations {steps}')


def convert_run(run_dir: Path) -> List[str]:
    """Convert one run folder in place; the notes of what changed ([] when nothing)."""
    result_file = run_dir / 'result.json'
    result = json.loads(result_file.read_text())
    notes: List[str] = []
    result['profile'] = convert_profile(result['profile'], notes)
    result['spec']['profile'] = result['profile']['name']
    convert_metrics(result, notes)
    convert_logs(run_dir, result['profile'], notes)
    spec_file = run_dir / 'spec.json'
    if spec_file.is_file():
        spec = json.loads(spec_file.read_text())
        converted = dict(spec, profile=result['profile'],
                         spec=dict(spec['spec'], profile=result['profile']['name']))
        if converted != spec:
            spec_file.write_text(json.dumps(converted, indent=2))
    if notes:
        result['converted'] = result.get('converted', []) + [
            dict(by=CONVERTER, changes=notes)]
        result_file.write_text(json.dumps(result, indent=2, allow_nan=True))
    return notes


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('folders', type=Path, nargs='+', help='folders holding run folders')
    args = p.parse_args(argv)
    for folder in args.folders:
        for result_file in sorted(folder.rglob('result.json')):
            notes = convert_run(result_file.parent)
            if notes:
                print(f'{result_file.parent}: ' + '; '.join(notes))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
