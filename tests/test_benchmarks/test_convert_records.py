"""The one-off conversion of older records (``benchmarks/archive/convert_records.py``): an
older record becomes one the report reads, and a converted record stays as it is."""
import importlib.util
import json
import math
from pathlib import Path

import pytest

from benchmarks.harness.curves import read_eval_curves
from benchmarks.harness.records import load_records

REPO = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location(
    'convert_records', REPO / 'benchmarks' / 'archive' / 'convert_records.py')
convert = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(convert)

OLD_PROFILE = dict(name='gpu-real', variant='r18-light', iters=1500, batch_size=8,
                   pos_fraction=0.5, crop_size=256, train_tile=512, lr=1e-3, val_interval=500,
                   pretrained=False, real_scale=1.0, syn_scale=0.5)


def _old_run(folder: Path) -> Path:
    """A GPU record of the early report: no froc_complete, no test_cfg, every evaluation
    logged at step 0 (three during training, one after it)."""
    run = folder / 'gpu-real_table4_real_drop0.70_fold0_ce_seed0'
    spec = dict(protocol='table4', dataset='real', loss='ce', drop_rate=0.7, fold=0, seed=0,
                profile='gpu-real')
    result = dict(run_id=run.name, spec=spec, profile=OLD_PROFILE, command='python -m benchmarks',
                  metrics={'digestpath/froc': 0.51, 'digestpath/recall': 0.01},
                  train_metrics={'digestpath/r_recall': 0.01, 'digestpath/t_recall': 0.02},
                  train_time_s=300.0,
                  machine=dict(cpu='Intel Xeon', cores=16, torch='2.11', torch_threads=2,
                               device='NVIDIA H200', python='3.12'))
    log = run / '20261126_020148' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    (run / 'result.json').write_text(json.dumps(result))
    (run / 'spec.json').write_text(json.dumps(dict(spec=spec, profile=OLD_PROFILE)))
    records = [{'digestpath/froc': f, 'step': 0} for f in (0.2, 0.3, 0.5)]
    records.insert(1, {'iter': 20, 'loss_cls': 1.0, 'loss_bbox': 0.5, 'step': 20})
    records.append({'digestpath/froc': 0.51, 'step': 0})
    log.write_text(''.join(json.dumps(r) + '\n' for r in records))
    return run


def test_an_older_record_becomes_one_the_report_reads(tmp_path):
    run = _old_run(tmp_path)
    with pytest.raises(ValueError, match=r'result\.json: .*missing test_cfg, '
                                         r'profile\.cls_loss_mode, metrics\.digestpath/froc'):
        load_records([tmp_path])
    notes = convert.convert_run(run)
    assert len(notes) == 4
    (result, ), _ = load_records([tmp_path])
    # The recipe of 1:1 batches has its own name; fields added later take the values it ran.
    assert result['profile']['name'] == result['spec']['profile'] == 'gpu-real-posfraction0.5'
    assert (result['profile']['momentum'], result['profile']['cls_loss_mode']) == (
        None, 'all_levels')
    spec = json.loads((run / 'spec.json').read_text())
    assert spec['profile'] == result['profile']
    # Evaluated under score_thr 0.05: a truncated FROC, the recalls it did not measure NaN.
    metrics = result['metrics']
    assert (metrics['digestpath/froc_complete'], metrics['digestpath/score_thr']) == (0.0, 0.5)
    assert math.isnan(metrics['digestpath/recall@8fp'])
    assert math.isnan(result['train_metrics']['digestpath/r_recall@8fp'])
    assert result['test_cfg']['score_thr'] == 0.05
    # Evaluations every 500 iterations, then the one after training (the last at 1500 wins).
    assert read_eval_curves(run)['digestpath/froc'] == [(500, 0.2), (1000, 0.3), (1500, 0.51)]
    assert result['converted'][0]['changes'] == notes


def test_conversion_changes_a_converted_or_current_record_no_more(tmp_path):
    run = _old_run(tmp_path)
    convert.convert_run(run)
    files = {p: p.read_bytes() for p in run.rglob('*.json')}
    assert convert.convert_run(run) == []
    assert {p: p.read_bytes() for p in run.rglob('*.json')} == files
    # The committed records are converted already.
    committed = sorted((REPO / 'benchmarks' / 'converge_runs').glob('*/result.json'))[:3]
    for path in committed:
        before = path.read_bytes()
        result = json.loads(before)
        notes = []
        assert convert.convert_profile(result['profile'], notes) == result['profile']
        convert.convert_metrics(result, notes)
        assert notes == []
