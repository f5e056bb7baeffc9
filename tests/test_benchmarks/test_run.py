"""python -m benchmarks (smoke profile end to end, resume, report) and benchmarks.grad_histogram."""
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from report_records import record
from smoke_runs import smoke_run_id

from benchmarks import grad_histogram
from benchmarks import report as benchmark_report
from benchmarks import run as benchmark_run
from benchmarks.harness.ablations import ablation_rows, split_ablations
from benchmarks.harness.curves import read_eval_curves, read_loss_curve
from benchmarks.harness.grad_histogram import (
    GROUPS,
    element_groups,
    gradient_norms,
    group_histograms,
)
from benchmarks.harness.paired_stats import (
    NOT_DISTINGUISHABLE,
    by_pair,
    compare,
    paired_differences,
)
from benchmarks.harness.profiles import PROFILES
from benchmarks.harness.records import ResultSet, group_results, load_records
from benchmarks.harness.report import report_lines
from benchmarks.harness.tables import (
    format_mean_std,
    grad_histogram_shares,
    pivot_means,
    train_time_text,
)
from benchmarks.harness.verdict import (
    VERDICT_OPPONENTS,
    claim_comparisons,
    claim_ranks,
    verdict_cells,
    verdict_claims,
)

REPO = Path(__file__).resolve().parents[2]
METRIC_KEYS = {'digestpath/recall', 'digestpath/precision', 'digestpath/nfps',
               'digestpath/froc'}
TILE = 128
# Anchors of a 128 px tile: strides 8..128 give 16^2 + 8^2 + 4^2 + 2^2 + 1^2 cells, 9 each.
ANCHORS_PER_TILE = 9 * (16 ** 2 + 8 ** 2 + 4 ** 2 + 2 ** 2 + 1)


def run_dirs(work: Path):
    return sorted(p.parent for p in (work / 'runs').glob('*/result.json'))


def test_smoke_runs_write_results(smoke):
    _, work = smoke
    dirs = run_dirs(work)
    assert [d.name for d in dirs] == ['smoke-iters2_table4_synthetic_drop0.50_fold0_ce_seed0',
                                      'smoke-iters2_table4_synthetic_drop0.50_fold0_dghmc_seed0']
    for run_dir in dirs:
        result = json.loads((run_dir / 'result.json').read_text())
        assert METRIC_KEYS <= set(result['metrics'])
        # Training images at missing rate 0.5: removed boxes exist, so R-/T-recall do.
        assert {'digestpath/r_recall', 'digestpath/t_recall', 'digestpath/r_recall@1fp',
                'digestpath/r_recall@8fp'} <= set(result['train_metrics'])
        assert result['spec']['drop_rate'] == 0.5 and result['profile']['iters'] == 2
        assert result['config'].endswith(f'retinanet_r18-light_fpn_{result["spec"]["loss"]}'
                                         '_digestpath.py')
        assert result['command'].startswith('python -m benchmarks --profile smoke')
        assert result['machine']['device'] == 'cpu'
        # Held-out images evaluated once (after training), not also by the loop's last step.
        log = (run_dir / 'run.log').read_text()
        assert log.count('Iter(val)') and sum('digestpath/froc' in line and 'Iter(val)' in line
                                              for line in log.splitlines()) == 1
        cfg = (run_dir / 'config.py').read_text()
        assert "type='IterBasedTrainLoop'" in cfg and 'max_iters=2' in cfg
        assert (run_dir / 'iter_2.pth').is_file()


def test_second_invocation_skips_finished_runs(smoke, smoke_args, capsys):
    benchmark, work = smoke
    before = {d.name: (d / 'result.json').stat().st_mtime_ns for d in run_dirs(work)}
    capsys.readouterr()
    assert benchmark.main(smoke_args + ['--work-dir', str(work)]) == 0
    out = capsys.readouterr().out
    assert '2 runs (0 to do)' in out
    assert out.count('skip (done)') == 2 and 'start:' not in out
    assert {d.name: (d / 'result.json').stat().st_mtime_ns for d in run_dirs(work)} == before


def test_report_only_aggregates_result_files(smoke, tmp_path):
    benchmark, work = smoke
    # Seed 1 of both losses, other metric values: copies of seed 0's records.
    more = []
    for loss, froc in (('ce', 0.25), ('dghmc', 0.5)):
        seed0 = work / 'runs' / smoke_run_id(loss)
        seed1 = tmp_path / 'more' / 'runs' / seed0.name.replace('seed0', 'seed1')
        shutil.copytree(seed0, seed1)
        result = json.loads((seed1 / 'result.json').read_text())
        result['run_id'] = seed1.name
        result['spec']['seed'] = 1
        result['metrics'].update({'digestpath/froc': froc, 'digestpath/precision': 0.75})
        (seed1 / 'result.json').write_text(json.dumps(result))
        more.append(result)
    ce = [json.loads((work / 'runs' / smoke_run_id('ce') / 'result.json').read_text()), more[0]]
    dghmc = [json.loads((work / 'runs' / smoke_run_id('dghmc') / 'result.json').read_text()),
             more[1]]

    report_dir = tmp_path / 'report'
    work_dirs = [work, tmp_path / 'more']
    assert benchmark.main(['--report-only', '--work-dir', str(work), '--extra-results',
                           str(tmp_path / 'more'), '--report-dir', str(report_dir)]) == 0
    # The tool writes what the records give: the report's function of the same records.
    results, dirs = load_records(work_dirs)
    assert len(results) == 4
    text = (report_dir / 'RESULTS.md').read_text()
    assert text == '\n'.join(report_lines(
        results, dirs, benchmark_report.report_command(work_dirs), None,
        sections=[benchmark_report.BENCH / name for name in benchmark_report.SECTIONS],
        loss_settings=json.loads((benchmark_report.BENCH / 'loss_settings.json').read_text())))
    groups = group_results(results)
    froc = [r['metrics']['digestpath/froc'] for r in ce]
    assert pivot_means(groups, 'val', 'froc')['ce'] == {0.5: pytest.approx(np.mean(froc))}
    # Seeds 0 and 1 ran with both losses: two pairs, too few for a verdict.
    (froc_cell, r8_cell), = verdict_cells(groups).values()
    assert froc_cell.ratio == pytest.approx(
        sum(r['metrics']['digestpath/froc'] for r in dghmc) / sum(froc))
    assert (froc_cell.comparison.n, froc_cell.comparison.verdict) == (2, NOT_DISTINGUISHABLE)
    assert r8_cell.comparison.n == 2
    # Every figure the report links (but those of the sections it includes) was drawn in its
    # result set's folder, and no other.
    sections = ''.join(path.read_text() for path in (
        benchmark_report.BENCH / name for name in benchmark_report.SECTIONS) if path.is_file())
    links = set(re.findall(r'!\[[^\]]*\]\(([^)]+)\)', text)) - set(
        re.findall(r'!\[[^\]]*\]\(([^)]+)\)', sections))
    drawn = {p.relative_to(report_dir).as_posix() for p in report_dir.rglob('*.png')}
    assert links == drawn
    assert {link.rsplit('/', 1)[0] for link in links} == {'figures/synthetic_t4'}
    assert all((report_dir / link).stat().st_size > 1000 for link in links)


def test_format_mean_std():
    assert format_mean_std([0.5, 0.7]) == f'0.600 ± {np.std([0.5, 0.7], ddof=1):.3f}'
    assert format_mean_std([0.42]) == '0.420'  # one run: no spread to show
    assert format_mean_std([0.5, float('nan')]) == '0.500 (1/2)'
    assert format_mean_std([float('nan')]) == 'n/a'


def test_element_groups_and_histograms():
    # Anchors: positive, negative of a partial image, negative of a normal image, ignored.
    labels = torch.tensor([0, 1, 1, 1])
    weights = torch.tensor([1.0, 1.0, 1.0, 0.0])
    partial = torch.tensor([True, True, False, True])
    target, group, valid = element_groups(labels, weights, partial, num_classes=1)
    assert target[:, 0].tolist() == [1, 0, 0, 0]
    assert group[:, 0].tolist() == [0, 1, 2, 1]
    assert valid[:, 0].tolist() == [True, True, True, False]
    logits = torch.tensor([[0.0], [0.0], [-20.0], [3.0]])
    g = gradient_norms(logits, target)
    assert torch.allclose(g[:3, 0], torch.tensor([0.5, 0.5, 0.0]), atol=1e-6)
    counts = group_histograms(np.array([0.5, 0.5, 0.0, 1.0, 0.95]), np.array([0, 1, 2, 2, 2]),
                              bins=10)
    assert counts.shape == (3, 10)
    assert counts[0, 5] == 1 and counts[1, 5] == 1 and counts[2, 0] == 1
    assert counts[2, 9] == 2 and counts.sum() == 5


def test_histogram_groups_are_the_losses_groups():
    """Every element's histogram group is, by name, the group DGHM-C* harmonizes it in."""
    from mmdet_dghm.models.losses.dghm_loss import GROUP_NAMES, group_codes
    gen = torch.Generator().manual_seed(0)
    num_classes = 3
    labels = torch.randint(0, num_classes + 1, (200,), generator=gen)
    partial = torch.rand(200, generator=gen) < 0.5
    target, group, valid = element_groups(labels, torch.ones(200), partial, num_classes)
    codes = group_codes(target.to(torch.uint8), partial, torch.zeros_like(target, dtype=torch.bool),
                        'full')
    loss_names = [GROUP_NAMES['full'][int(c) // 2] for c in codes.flatten()]
    assert [GROUPS[int(g)] for g in group.flatten()] == loss_names
    assert set(loss_names) == set(GROUPS)


def test_grad_histogram_on_tiny_checkpoint(smoke, tmp_path):
    _, work = smoke
    run_dir = work / 'runs' / smoke_run_id('dghmc')
    tool = grad_histogram
    out = tmp_path / 'hist.png'
    assert tool.main([str(run_dir / 'config.py'), str(run_dir / 'iter_2.pth'), '--out',
                      str(out), '--max-tiles', '100']) == 0
    record = json.loads(out.with_suffix('.json').read_text())
    counts = {name: sum(record['counts'][name]) for name in GROUPS}
    # The smoke split trains on 3 positive and 3 negative 128 px images, one tile each.
    assert record['num_tiles'] == 6
    assert record['num_elements'] == 6 * ANCHORS_PER_TILE
    assert sum(counts.values()) == record['num_valid']
    # Normal images hold only negatives and no IoU-ignored anchors: 3 whole tiles of NP_N.
    assert counts['NP_N'] == 3 * ANCHORS_PER_TILE
    # Positive tiles: AP_P + AP_N + anchors ignored by the assigner (0.4 <= IoU < 0.5).
    assert 0 < counts['AP_P'] < counts['AP_N']
    assert counts['AP_P'] + counts['AP_N'] <= 3 * ANCHORS_PER_TILE
    assert record['num_valid'] < record['num_elements']
    assert out.stat().st_size > 1000


def test_every_profile_has_default_datasets():
    tool = benchmark_run
    assert set(tool.DEFAULT_DATASETS) == set(PROFILES)
    assert PROFILES['cpu-real'].val_interval > 0
    assert tool.DEFAULT_DATASETS['cpu-real']['table3'] == ['real']


def _result(loss, rate, seed, froc, r_recall=float('nan')):
    return record(loss, seed, froc, rate=rate, r_recall=r_recall)


def test_pivot_means_and_paired_differences():
    ce = [_result('ce', 0.3, 0, 0.9), _result('ce', 0.3, 1, 0.7)]
    dghmc = [_result('dghmc', 0.3, 0, 0.8), _result('dghmc', 0.3, 1, 0.75),
             _result('dghmc', 0.3, 2, 0.1)]  # seed 2 has no CE partner
    groups = group_results(ce + dghmc + [_result('dghmc', 0.7, 0, 0.6)])
    assert pivot_means(groups, 'val', 'froc') == {
        'ce': {0.3: pytest.approx(0.8)},
        'dghmc': {0.3: pytest.approx(0.55), 0.7: pytest.approx(0.6)}}
    # Pairs (seed 0, 1): -0.1 and +0.05; two pairs are too few for a verdict.
    c = compare(paired_differences(by_pair(dghmc, 'val', 'froc'), by_pair(ce, 'val', 'froc')))
    assert (c.n, c.wins, c.verdict) == (2, 1, NOT_DISTINGUISHABLE)
    assert (c.mean, c.ci, c.sign_p) == (pytest.approx(-0.025), pytest.approx((-0.1, 0.05)), 1.0)
    # NaN values pair with nothing.
    nan = compare(paired_differences(by_pair(dghmc, 'train', 'r_recall'),
                                     by_pair(ce, 'train', 'r_recall')))
    assert nan.n == 0


def test_train_time_per_cpu():
    def timed(cpu, seconds):
        return dict(machine=dict(cpu=cpu), train_time_s=seconds)
    assert train_time_text([timed('AMD EPYC', 570.0), timed('AMD EPYC', 590.0)]) == \
        '580 (AMD EPYC)'
    xeon = 'Intel(R) Xeon(R) Processor'
    assert train_time_text([timed(xeon, 400.0), timed('AMD EPYC', 579.4), timed(xeon, 396.0)]) \
        == '579 (AMD EPYC x1), 398 (Intel Xeon x2)'


def test_grad_histogram_shares():
    record = dict(bins=10, groups=['AP_P', 'AP_N', 'NP_N'],
                  counts={'AP_P': [1, 0, 0, 0, 0, 0, 0, 0, 0, 3],
                          'AP_N': [6, 1, 0, 0, 0, 0, 0, 0, 1, 0],
                          'NP_N': [0] * 10})
    # g < 0.1, 0.1 <= g < 0.9, g >= 0.9; the empty group left out.
    assert grad_histogram_shares([('ce', record)]) == [
        ('ce', 'AP_P', 4, (0.25, 0.0, 0.75)), ('ce', 'AP_N', 8, (0.75, 0.25, 0.0))]


def test_overrides_rename_the_profile():
    cpu = PROFILES['cpu']
    assert cpu.with_overrides(iters=None, lr=None) is cpu
    assert cpu.with_overrides(iters=cpu.iters).name == 'cpu'  # same value: same runs
    longer = cpu.with_overrides(iters=900, lr=5e-4)
    assert (longer.name, longer.iters, longer.lr) == ('cpu-iters900-lr0.0005', 900, 5e-4)


def test_finished_run_under_other_settings_is_refused(smoke, tmp_path):
    from benchmarks.harness.matrix import prepare_run
    from benchmarks.harness.runs import RunSpec
    _, work = smoke
    run_dir = work / 'runs' / smoke_run_id('ce')
    done = json.loads((run_dir / 'result.json').read_text())
    spec, profile = RunSpec(**done['spec']), PROFILES['smoke'].with_overrides(iters=2)
    spec_before = (run_dir / 'spec.json').read_text()
    assert prepare_run(spec, profile, work / 'runs', 'again') == run_dir
    assert (run_dir / 'spec.json').read_text() == spec_before  # finished: left alone
    changed = dataclasses.replace(profile, lr=profile.lr * 2)  # same name, other settings
    with pytest.raises(ValueError, match='finished with other settings'):
        prepare_run(spec, changed, work / 'runs', 'again')


def test_report_with_gradient_histograms_per_profile(smoke, tmp_path):
    benchmark, work = smoke
    report_dir = tmp_path / 'report'
    assert benchmark.main(['--report-only', '--grad-hist', '--work-dir', str(work),
                           '--report-dir', str(report_dir)]) == 0
    text = (report_dir / 'RESULTS.md').read_text()
    hist_dir = report_dir / 'figures' / 'grad_hist'
    for loss in ('ce', 'dghmc'):
        stem = f'smoke-iters2_synthetic_{loss}'
        record = json.loads((hist_dir / f'{stem}.json').read_text())
        assert record['drop_rate'] == 0.5 and record['num_tiles'] == 6
        assert f'](figures/grad_hist/{stem}.png)' in text
        # The shares the report tabulates come from the histogram's counts.
        shares = {row.group: row for row in grad_histogram_shares([(stem, record)])}
        assert shares['AP_P'].anchors == sum(record['counts']['AP_P'])
    stamps = {p.name: p.stat().st_mtime_ns for p in hist_dir.iterdir()}
    assert benchmark.main(['--report-only', '--grad-hist', '--work-dir', str(work),
                           '--report-dir', str(report_dir)]) == 0
    assert {p.name: p.stat().st_mtime_ns for p in hist_dir.iterdir()} == stamps


def test_grad_histograms_skip_records_without_checkpoint(smoke, tmp_path):
    """Committed records of runs made elsewhere (GPU runs) hold no checkpoint: the report
    shows their rows and makes no gradient histogram of them."""
    benchmark, work = smoke
    for loss in ('ce', 'dghmc'):
        src = work / 'runs' / smoke_run_id(loss)
        dst = tmp_path / 'gpu' / src.name.replace('smoke-iters2', 'gpu-x')
        dst.mkdir(parents=True)
        result = json.loads((src / 'result.json').read_text())
        result['spec']['profile'] = result['profile']['name'] = 'gpu-x'
        (dst / 'result.json').write_text(json.dumps(result))
    report_dir = tmp_path / 'report'
    assert benchmark.main(['--report-only', '--grad-hist', '--work-dir', str(tmp_path / 'gpu'),
                           '--report-dir', str(report_dir)]) == 0
    assert not (report_dir / 'figures' / 'grad_hist').exists()
    results, _ = load_records([tmp_path / 'gpu'])
    assert {g.result_set for g in group_results(results)} == {
        ResultSet('gpu-x', 'table4', 'synthetic')}
    assert (report_dir / 'figures' / 'synthetic_t4' / 'froc_vs_missing.png').is_file()


def _write_scalars(run_dir: Path, stamp: str, records: list) -> None:
    log = run_dir / stamp / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    log.write_text(''.join(json.dumps(r) + '\n' for r in records))


def test_eval_curves_of_resumed_logs(tmp_path):
    def val(froc, step):
        return {'digestpath/froc': froc, 'train/digestpath/r_recall@8fp': froc / 2, 'step': step}

    # A resumed run: the first attempt evaluated at 500, logged iterations 10 and 20, and was
    # stopped; the second resumed from 500 and logged 20 again (its value wins), and both
    # the loop's last evaluation and the one after training logged 1500 (the last wins).
    resumed = tmp_path / 'resumed'
    _write_scalars(resumed, '20260101_000000', [
        {'iter': 10, 'loss_cls': 1.0, 'loss_bbox': 0.5}, val(0.1, 500),
        {'iter': 20, 'loss_cls': 0.9, 'loss_bbox': 0.4}])
    _write_scalars(resumed, '20260101_010000', [
        {'iter': 20, 'loss_cls': 0.8, 'loss_bbox': 0.3}, val(0.2, 1000), val(0.3, 1500),
        val(0.31, 1500)])
    curves = read_eval_curves(resumed)
    assert curves['digestpath/froc'] == [(500, 0.1), (1000, 0.2), (1500, 0.31)]
    assert curves['train/digestpath/r_recall@8fp'] == [(500, 0.05), (1000, 0.1), (1500, 0.155)]
    curve = read_loss_curve(resumed)
    assert curve['iter'].tolist() == [10, 20] and curve['loss_cls'].tolist() == [1.0, 0.8]
    assert read_eval_curves(tmp_path / 'none') == {}


def test_interrupted_run_resumes_from_its_checkpoint(smoke_ce_spec, tmp_path):
    from benchmarks.harness.matrix import execute_runs, prepare_run
    spec, profile = smoke_ce_spec(iters=20, val_interval=10)
    run_dir = prepare_run(spec, profile, tmp_path / 'runs', 'test')
    env = dict(os.environ, PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1')
    proc = subprocess.Popen([sys.executable, '-m', 'benchmarks.harness.runs',
                             str(run_dir)], cwd=str(REPO), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Stop it once the evaluation at iteration 10 is logged (its checkpoint is saved before).
    deadline = time.monotonic() + 300
    while not read_eval_curves(run_dir):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert not (run_dir / 'result.json').is_file()
    assert (run_dir / 'last_checkpoint').read_text().strip().endswith('iter_10.pth')

    other = dataclasses.replace(profile, lr=profile.lr * 2)  # same name, other settings
    with pytest.raises(ValueError, match='holds a checkpoint of other settings'):
        prepare_run(spec, other, tmp_path / 'runs', 'again')
    assert prepare_run(spec, profile, tmp_path / 'runs', 'again') == run_dir
    messages = []
    assert execute_runs([run_dir], threads=1, log=messages.append) == {run_dir.name: 0}
    assert messages[0] == f'start: {run_dir.name}'
    # The last run of the matrix: its count, no estimate of the time left.
    assert re.fullmatch(rf'done \(1/1\): {run_dir.name} in \d+ s', messages[1])
    result = json.loads((run_dir / 'result.json').read_text())
    assert result['resumed_from'] == 'iter_10.pth'
    log = (run_dir / 'run.log').read_text()
    assert f'resuming {run_dir.name} from iter_10.pth' in log
    second = sorted(run_dir.glob('*/vis_data/scalars.json'))[-1]
    first_iter = json.loads(second.read_text().splitlines()[0])['iter']
    assert first_iter == 11  # the resumed attempt trains iterations 11..20 only
    assert [it for it, _ in read_eval_curves(run_dir)['digestpath/froc']] == [10, 20]
    assert read_loss_curve(run_dir)['iter'].tolist() == list(range(1, 21))


def test_gradient_at_prior_matches_closed_forms():
    from benchmarks.harness.grad_histogram import gradient_at_prior
    p = 0.01
    ce = gradient_at_prior(dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0), p)
    assert ce == pytest.approx((1 - p, p), rel=1e-5)
    # SCE (eq. 8, A = -4): alpha * |p - t| + beta * 4 * p * (1 - p) for either label.
    sce = gradient_at_prior(dict(type='SymmetricCELoss', alpha=0.01, beta=1.0), p)
    assert sce == pytest.approx((0.01 * (1 - p) + 4 * p * (1 - p), 0.01 * p + 4 * p * (1 - p)),
                                rel=1e-5)
    # Focal (gamma 2, alpha 0.25): d/dx of -alpha_t (1 - p_t)^2 log p_t, x2 for loss_weight.
    focal = gradient_at_prior(dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                   loss_weight=2.0), p)
    pos = 0.25 * ((1 - p) ** 3 - 2 * p * (1 - p) ** 2 * np.log(p))
    neg = 0.75 * (p ** 3 - 2 * p ** 2 * (1 - p) * np.log(1 - p))
    assert focal == pytest.approx((2 * pos, 2 * neg), rel=1e-4)


def test_ablation_runs_get_no_gradient_histogram(smoke, tmp_path):
    """An ablation's run (here the DGHM-C smoke run relabelled as ``--density normalized``)
    shows in the ablation section beside its reference and gets no histogram of its own."""
    benchmark, work = smoke
    src = work / 'runs' / smoke_run_id('dghmc')
    ablation = PROFILES['smoke'].with_overrides(iters=2, density='normalized')
    dst = tmp_path / 'work' / 'runs' / src.name.replace('smoke-iters2', ablation.name)
    shutil.copytree(src, dst)
    result = json.loads((dst / 'result.json').read_text())
    result['run_id'] = dst.name
    result['profile'] = ablation.to_dict()
    result['spec']['profile'] = ablation.name
    (dst / 'result.json').write_text(json.dumps(result))
    report_dir = tmp_path / 'report'
    assert benchmark.main(['--report-only', '--grad-hist', '--work-dir', str(tmp_path / 'work'),
                           '--extra-results', str(work), '--report-dir',
                           str(report_dir)]) == 0
    assert sorted(p.name for p in (report_dir / 'figures' / 'grad_hist').glob('*.png')) == [
        'smoke-iters2_synthetic_ce.png', 'smoke-iters2_synthetic_dghmc.png']
    results, _ = load_records([tmp_path / 'work', work])
    groups = group_results(results)
    main, ablations = split_ablations(groups)
    assert {g.profile for g in main} == {'smoke-iters2'}
    assert {g.profile for g in ablations} == {ablation.name}
    # Compared with the recipe it changes (smoke with 2 iterations), nothing else held fixed;
    # the same model under both names: identical metrics, a zero paired difference.
    (row, ) = ablation_rows(groups)
    assert (row.recipe, row.field, row.values, row.held_fixed, row.pairs) == (
        'smoke-iters2', 'density', ('paper', 'normalized'), {}, 1)
    froc_mean, froc_ref, froc_diff = row.metrics[0]
    assert froc_mean == froc_ref and (froc_diff.mean, froc_diff.wins) == (0.0, 0)
    # No table (and no figure folder) of its own.
    assert [p.name for p in (report_dir / 'figures').iterdir()] == sorted(
        ['grad_hist', 'synthetic_t4'])


def test_truncated_froc_is_counted_in_the_claim():
    def table3(loss, froc, complete):
        return record(loss, 0, froc, rate=0.0, dataset='real', froc_complete=complete)

    def claim(runs):
        (claim, ) = verdict_claims(group_results(runs))
        return claim.key, claim.truncated

    assert claim([table3('dghmc', 0.5, 1.0), table3('ce', 0.4, 1.0)]) == ('froc', 0)
    # A curve stopped before 32 false positives per normal image.
    assert claim([table3('dghmc', 0.5, 0.0), table3('ce', 0.4, 0.0)]) == ('froc', 2)
    assert claim([table3('dghmc', 0.5, 1.0), table3('ce', 0.4, 0.0)]) == ('froc', 1)


def test_claims_of_a_metric_dghmc_did_not_measure_are_left_out():
    runs = {loss: record(loss, 0, froc, r_recall=r)
            for loss, froc, r in (('dghmc', 0.6, 0.3), ('ce', 0.5, 0.1))}
    assert [c.key for c in verdict_claims(group_results(runs.values()))] == ['r_recall']
    runs['dghmc']['train_metrics']['digestpath/r_recall@8fp'] = 0.6
    claims = verdict_claims(group_results(runs.values()))
    assert [c.key for c in claims] == ['r_recall@8fp', 'r_recall']
    assert claim_comparisons(claims[0])['ce'].n == 0  # CE lacks it: nothing to pair
    # A metric no other loss measured is not ranked.
    assert [(c.key, c.rank) for c in claim_ranks(group_results(runs.values()))] == [
        ('froc', 1), ('r_recall', 1)]


def test_verdict_checks_every_loss_of_the_paper_claim():
    # DGHM-C against CE, focal, both GHM-C forms and SCE: one comparison each, unrun ones None.
    groups = group_results([record(loss, 0, 0.5, r_recall=r)
                            for loss, r in (('dghmc', 0.3), ('ce', 0.1), ('sce', 0.4))])
    (claim, ) = verdict_claims(groups)
    comparisons = claim_comparisons(claim)
    assert tuple(comparisons) == VERDICT_OPPONENTS
    assert (comparisons['ce'].mean, comparisons['ce'].wins) == (pytest.approx(0.2), 1)
    assert (comparisons['sce'].mean, comparisons['sce'].wins) == (pytest.approx(-0.1), 0)
    assert [comparisons[loss] for loss in ('focal', 'ghmc', 'ghmc-mmdet')] == [None] * 3
