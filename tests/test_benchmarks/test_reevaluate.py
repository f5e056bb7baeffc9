"""python -m benchmarks --reevaluate on the smoke profile, and the ablation switches."""
import json
from pathlib import Path

import pytest
from smoke_runs import smoke_run_id

from benchmarks import run as benchmark_run
from benchmarks.harness.profiles import PROFILES
from benchmarks.harness.runs import RunSpec, build_run_config, missing_metrics

ARGS = ['--profile', 'smoke', '--protocol', 'table4', '--losses', 'ce', '--drop-rates', '0.5',
        '--seeds', '0', '--iters', '2', '--threads', '1', '--no-report']
RUN = smoke_run_id('ce')
OLD_TEST_CFG = dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                    nms=dict(type='nms', iou_threshold=0.5), max_per_img=500)


def age(run_dir: Path) -> dict:
    """Make a finished run look evaluated under the old test_cfg, with sentinel metrics."""
    result = json.loads((run_dir / 'result.json').read_text())
    result.update(test_cfg=OLD_TEST_CFG, metrics={'digestpath/froc': -1.0},
                  train_metrics={'digestpath/r_recall': -1.0}, superseded=[])
    (run_dir / 'result.json').write_text(json.dumps(result))
    return result


def test_reevaluate_rescores_checkpoints_and_retrains_runs_without(tmp_path):
    benchmark = benchmark_run
    assert benchmark.main(ARGS + ['--work-dir', str(tmp_path)]) == 0
    run_dir = tmp_path / 'runs' / RUN
    first = json.loads((run_dir / 'result.json').read_text())
    assert first['test_cfg']['score_thr'] == 0.0 and first['superseded'] == []
    assert first['metrics']['digestpath/froc_complete'] == 1.0
    # Already under the committed test_cfg: nothing to do.
    assert benchmark.main(['--reevaluate', '--no-report', '--work-dir', str(tmp_path)]) == 0
    assert json.loads((run_dir / 'result.json').read_text()) == first

    old = age(run_dir)
    checkpoint = run_dir / 'iter_2.pth'
    stamp = checkpoint.stat().st_mtime_ns
    assert benchmark.main(['--reevaluate', '--no-report', '--work-dir', str(tmp_path)]) == 0
    new = json.loads((run_dir / 'result.json').read_text())
    assert checkpoint.stat().st_mtime_ns == stamp  # evaluated, not trained
    assert new['reevaluated_checkpoint'] == 'iter_2.pth'
    assert new['test_cfg']['score_thr'] == 0.0
    # The same checkpoint and data give the first evaluation's metrics again.
    assert new['metrics'] == first['metrics']
    assert new['train_metrics'] == first['train_metrics']
    assert new['superseded'] == [dict(metrics=old['metrics'], train_metrics=old['train_metrics'],
                                      test_cfg=OLD_TEST_CFG, finished=old['finished'])]
    assert (run_dir / 'reevaluation').is_dir()

    # Without a checkpoint the run is trained again; the old metrics are kept.
    age(run_dir)
    for path in [run_dir / 'last_checkpoint', *run_dir.glob('*.pth')]:
        path.unlink()
    assert benchmark.main(['--reevaluate', '--no-report', '--work-dir', str(tmp_path)]) == 0
    retrained = json.loads((run_dir / 'result.json').read_text())
    assert (run_dir / 'iter_2.pth').is_file() and 'reevaluated' not in retrained
    assert retrained['superseded'][-1]['metrics'] == {'digestpath/froc': -1.0}
    # One thread, one seed: training again gives the first run's model and metrics.
    assert retrained['metrics'] == first['metrics']


def test_results_without_the_threshold_free_r_recall_are_reevaluated():
    result = dict(spec=dict(drop_rate=0.7), train_metrics={'digestpath/r_recall': 0.1,
                                                          'digestpath/r_recall@1fp': 0.2})
    assert missing_metrics(result) == ['digestpath/r_recall@8fp']
    result['train_metrics']['digestpath/r_recall@8fp'] = 0.3
    assert missing_metrics(result) == []
    # Natural annotation removes no box: no R-recall to miss.
    assert missing_metrics(dict(spec=dict(drop_rate=0.0), train_metrics={})) == []


def test_every_profile_draws_one_positive_for_three_negatives():
    assert {name: p.pos_fraction for name, p in PROFILES.items()} == dict.fromkeys(PROFILES, 0.25)


def spec(loss: str) -> RunSpec:
    return RunSpec(protocol='table4', dataset='synthetic', data_root='/data', loss=loss,
                   drop_rate=0.7, fold=0, num_folds=5, seed=0, profile='cpu')


def test_ablation_switches_rename_the_profile_and_reach_the_config(tmp_path):
    cpu = PROFILES['cpu']
    ablation = cpu.with_overrides(cls_loss_mode='per_level', density='normalized',
                                  mu_noisy=1.5, mu_clean=None)
    assert ablation.name == 'cpu-clslossmodeper_level-densitynormalized-munoisy1.5'
    cfg = build_run_config(spec('dghmc'), ablation, tmp_path)
    head = cfg.model.bbox_head
    assert head.cls_loss_mode == 'per_level'
    assert (head.loss_cls.density, head.loss_cls.mu_noisy, head.loss_cls.mu_clean) == (
        'normalized', 1.5, 0.5)
    default = build_run_config(spec('dghmc'), cpu, tmp_path).model.bbox_head
    assert default.cls_loss_mode == 'all_levels' and 'density' not in default.loss_cls
    with pytest.raises(ValueError, match='DGHMCLoss options'):
        build_run_config(spec('ce'), ablation, tmp_path)
    # Histogram population applies to every loss.
    ce = build_run_config(spec('ce'), cpu.with_overrides(cls_loss_mode='per_level'), tmp_path)
    assert ce.model.bbox_head.cls_loss_mode == 'per_level'
