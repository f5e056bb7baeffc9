"""The convergence protocol in miniature: its recipe and data, a run stopped after its first
evaluation and resumed, a second loss beside it, and the report's convergence section built
from their records."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import run as benchmark_run
from benchmarks.harness.convergence import mechanisms, reference_rows, selections
from benchmarks.harness.curves import read_eval_curves
from benchmarks.harness.matrix import execute_runs, prepare_run
from benchmarks.harness.profiles import get_profile
from benchmarks.harness.records import load_records
from benchmarks.harness.runs import RunSpec

REPO = Path(__file__).resolve().parents[2]
ITERS, VAL_INTERVAL = 60, 20


@pytest.mark.slow
def test_converge_protocol_resumes_and_reports(tmp_path):
    work = tmp_path / 'work'
    args = ['--profile', 'converge', '--protocol', 'table4', '--datasets', 'synthetic',
            '--drop-rates', '0.7', '--iters', str(ITERS), '--val-interval', str(VAL_INTERVAL),
            '--threads', '1', '--work-dir', str(work), '--no-report']
    # The recipe's data, no run yet (PU's run below is the tool's own).
    assert benchmark_run.main(args + ['--losses', 'pu']) == 0
    profile = get_profile('converge', iters=ITERS, val_interval=VAL_INTERVAL)
    (pu_dir, ) = (work / 'runs').iterdir()
    pu = json.loads((pu_dir / 'result.json').read_text())
    spec = RunSpec(**dict(pu['spec'], loss='ce'))
    run_dir = prepare_run(spec, profile, work / 'runs', 'test')

    env = dict(os.environ, PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1')
    proc = subprocess.Popen([sys.executable, '-m', 'benchmarks.harness.runs', str(run_dir)],
                            cwd=str(REPO), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # Stopped once its first evaluation is logged (the checkpoint is saved before it).
    deadline = time.monotonic() + 300
    while not read_eval_curves(run_dir):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert not (run_dir / 'result.json').is_file()
    assert execute_runs([run_dir], threads=1, log=lambda m: None) == {run_dir.name: 0}
    ce = json.loads((run_dir / 'result.json').read_text())
    assert ce['resumed_from'] == f'iter_{VAL_INTERVAL}.pth'
    # Every evaluation's curves, the training images' and the partial fold's among them,
    # across both attempts.
    curves = read_eval_curves(run_dir)
    steps = list(range(VAL_INTERVAL, ITERS + 1, VAL_INTERVAL))
    for key in ('digestpath/froc', 'train/digestpath/r_recall@8fp',
                'train/digestpath/t_recall', 'annotated/digestpath/froc'):
        assert [it for it, _ in curves[key]] == steps
    assert curves['digestpath/froc'][-1][1] == pytest.approx(ce['metrics']['digestpath/froc'])

    report_dir = tmp_path / 'report'
    assert benchmark_run.main(['--report-only', '--work-dir', str(work), '--report-dir',
                               str(report_dir)]) == 0
    # The convergence section's numbers, from the two records and their curves.
    results, run_dirs = load_records([work])
    by_loss = {r['spec']['loss']: [r] for r in sorted(results, key=lambda r: r['spec']['loss'])}
    curves = {r['run_id']: read_eval_curves(run_dirs[r['run_id']]) for r in results}
    rows = {row.loss: row for row in reference_rows(by_loss)}
    froc = rows['pu'].cells[0]
    assert froc.ratio == pytest.approx(pu['metrics']['digestpath/froc']
                                       / ce['metrics']['digestpath/froc'])
    assert (rows['pu'].runs, froc.comparison.n) == (1, 1)
    assert {row.loss: row.runs for row in mechanisms(by_loss, curves)} == {'ce': 1, 'pu': 1}
    assert {row.loss: row.picks[0] in steps for row in selections(by_loss, curves)} == {
        'ce': True, 'pu': True}
    # Its figure, in the result set's folder, linked from the report.
    figure = report_dir / 'figures' / 'synthetic_t4' / 'curves_0.7.png'
    assert figure.stat().st_size > 1000
    assert '](figures/synthetic_t4/curves_0.7.png)' in (report_dir / 'RESULTS.md').read_text()
