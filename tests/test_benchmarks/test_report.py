"""The report as a function of its records: the committed RESULTS.md regenerates byte for byte
without model code, opens with its verdict, and the verdict's numbers are the records'."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from report_records import profile, record, write

from benchmarks.harness.figures import figure_folders
from benchmarks.harness.paired_stats import NOT_DISTINGUISHABLE
from benchmarks.harness.records import (
    Group,
    ResultSet,
    Setting,
    group_results,
    load_records,
)
from benchmarks.harness.verdict import verdict_cells, verdict_columns, verdict_settings

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / 'benchmarks'
COMMITTED_RUNS = 'benchmarks/converge_runs'
#: Top-level packages of model code: torch and the OpenMMLab stack, the plugin itself.
MODEL_PACKAGES = ('torch', 'mmcv', 'mmengine', 'mmdet', 'mmdet_dghm')
#: The benchmark's modules that read recipes or build runs.
RUN_MODULES = ('benchmarks.harness.profiles', 'benchmarks.harness.runs',
               'benchmarks.harness.matrix', 'benchmarks.run')

REGENERATE = """
import json, sys
from benchmarks.report import main
main(['--work-dir', {runs!r}, '--report-dir', {out!r}, '--no-figures'])
json.dump(sorted(sys.modules), open({modules!r}, 'w'))
"""


@pytest.fixture(scope='module')
def regenerated(tmp_path_factory):
    """RESULTS.md regenerated from the committed records (in a fresh interpreter, without
    figures) and the modules that interpreter imported."""
    out = tmp_path_factory.mktemp('report')
    modules = out / 'modules.json'
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, '-c', REGENERATE.format(
        runs=COMMITTED_RUNS, out=str(out), modules=str(modules))], cwd=REPO, env=env,
        check=True, capture_output=True, timeout=300)
    return (out / 'RESULTS.md').read_bytes(), json.loads(modules.read_text())


def test_committed_report_regenerates_byte_identical(regenerated):
    text, _ = regenerated
    assert text == (BENCH / 'RESULTS.md').read_bytes(), (
        'benchmarks/RESULTS.md is not what its records give: rerun '
        '`python -m benchmarks.report --work-dir benchmarks/converge_runs`')


def test_report_imports_no_model_code_and_reads_no_recipe(regenerated):
    _, modules = regenerated
    assert [m for m in modules if m.split('.')[0] in MODEL_PACKAGES] == []
    assert [m for m in modules if m in RUN_MODULES] == []
    assert 'benchmarks.harness.report' in modules  # the check saw the report's process


def test_committed_report_opens_with_the_verdict_of_its_records():
    results, _ = load_records([REPO / COMMITTED_RUNS])
    groups = group_results(results)
    cells = verdict_cells(groups)
    head = (BENCH / 'RESULTS.md').read_text().splitlines()[:20]
    table = [line for line in head if line.startswith('| ')]
    # A row per method against CE, DGHM-C's among them (the paper's claims).
    assert [row.split(' | ')[0][2:] for row in table[1:]] == [
        {'focal': 'Focal', 'ghmc': 'GHM-C', 'ghmc-mmdet': 'GHM-C (mmdet)', 'sce': 'SCE',
         'dghmc': 'DGHM-C', 'dghmc-star': 'DGHM-C*', 'cleanonly': 'Clean-only',
         'pu': 'PU (PNU)', 'brl': 'BRL', 'teacher-ce': 'Teacher (CE)',
         'teacher-pu': 'Teacher (PU)'}[loss] for loss in cells]
    dghmc = dict(zip(verdict_columns(groups), cells['dghmc']))
    froc = next(cell for column, cell in dghmc.items()
                if column.key == 'froc' and column.setting.dataset == 'synthetic')
    assert f'{froc.ratio:.2f}x ({froc.comparison.wins} of {froc.comparison.n})' in \
        table[1 + list(cells).index('dghmc')]


def test_committed_report_links_existing_figures():
    text = (BENCH / 'RESULTS.md').read_text()
    links = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', text)
    assert links and all((BENCH / link).is_file() for link in links), [
        link for link in links if not (BENCH / link).is_file()]
    # Every figure of the results tables is in its result set's folder.
    assert not list(BENCH.glob('converge*.png'))


def _groups(*results):
    return group_results(results)


def test_verdict_pairs_each_method_with_ce_by_seed_and_fold():
    ce = [record('ce', s, 0.5 + 0.01 * s, r8=0.40) for s in range(6)]
    # PU: seeds 0-3, and seed 6 that CE did not run (it pairs with nothing).
    pu = [record('pu', s, 0.6 + 0.01 * s, r8=0.44) for s in range(4)]
    pu.append(record('pu', 6, 0.99, r8=0.9))
    dghmc = [record('dghmc', s, 0.4 + 0.01 * s, r8=0.40 - 0.01 * (s % 2)) for s in range(6)]
    real_ce = [record('ce', s, 0.5, rate=0.0, dataset='real') for s in range(2)]
    groups = _groups(*ce, *pu, *dghmc, *real_ce)
    columns = verdict_columns(groups)
    assert [(c.setting.dataset, c.setting.missing_rate, c.key) for c in columns] == [
        ('synthetic', 0.7, 'froc'), ('synthetic', 0.7, 'r_recall@8fp'),
        ('real', 0.0, 'froc')]  # no training-image metric under natural annotation
    cells = verdict_cells(groups)
    assert list(cells) == ['dghmc', 'pu']  # the report's order; CE is the reference
    pu_froc, pu_r8, pu_real = cells['pu']
    # PU's seeds 0-3 against CE's seeds 0-3: (0.615 / 0.515), all 4 higher, too few pairs.
    assert pu_froc.ratio == pytest.approx(np.mean([0.6, 0.61, 0.62, 0.63])
                                          / np.mean([0.5, 0.51, 0.52, 0.53]))
    assert (pu_froc.comparison.n, pu_froc.comparison.wins) == (4, 4)
    assert pu_froc.comparison.verdict == NOT_DISTINGUISHABLE
    assert pu_r8.ratio == pytest.approx(1.1)
    assert pu_real is None  # PU did not run on the real data
    dghmc_froc, dghmc_r8, _ = cells['dghmc']
    assert dghmc_froc.ratio == pytest.approx(np.mean(np.arange(6) * 0.01 + 0.4)
                                             / np.mean(np.arange(6) * 0.01 + 0.5))
    assert (dghmc_froc.comparison.n, dghmc_froc.comparison.wins) == (6, 0)
    assert dghmc_froc.comparison.verdict == 'lower'
    assert (dghmc_r8.comparison.wins, dghmc_r8.comparison.n) == (0, 6)  # 3 ties, 3 lower


def test_verdict_reads_the_most_run_recipe_at_its_highest_missing_rate():
    other = profile('p-iters300', iters=300)
    groups = _groups(*[record('ce', s, 0.5, rate=r) for s in range(3) for r in (0.3, 0.7)],
                     record('ce', 0, 0.5, prof=other), record('dghmc', 0, 0.4, prof=other))
    assert verdict_settings(groups) == [Setting('p', 'table4', 'synthetic', 0.7)]


def test_records_the_report_cannot_read_are_refused_by_file(tmp_path):
    good = write(tmp_path / 'a', record('ce', 0, 0.5))
    old = record('ce', 1, 0.5)
    del old['metrics']['digestpath/froc_complete']
    bad = write(tmp_path / 'b', old)
    with pytest.raises(ValueError, match=rf'{re.escape(str(bad))}: .*missing '
                                         r'metrics\.digestpath/froc_complete'):
        load_records([tmp_path / 'a', tmp_path / 'b'])
    changed = record('ce', 1, 0.5, prof=profile(lr=5e-4))
    other = write(tmp_path / 'c', changed)
    with pytest.raises(ValueError, match=rf"{re.escape(str(other))}: profile 'p' with other "
                                         rf'settings than in {re.escape(str(good))} \(lr\)'):
        load_records([tmp_path / 'a', tmp_path / 'c'])
    fewer = record('ce', 1, 0.5, prof={k: v for k, v in profile().items() if k != 'momentum'})
    write(tmp_path / 'd', fewer)
    with pytest.raises(ValueError, match=r'its profile has other fields .* \(momentum\)'):
        load_records([tmp_path / 'a', tmp_path / 'd'])
    with pytest.raises(ValueError, match='run id .* is recorded in'):
        load_records([tmp_path / 'a', tmp_path / 'a'])
    results, run_dirs = load_records([tmp_path / 'a'])
    assert list(group_results(results)) == [Group('p', 'table4', 'synthetic', 0.7, 'ce')]
    assert run_dirs == {results[0]['run_id']: good.parent}


def test_figure_folders_are_short_and_one_per_result_set():
    sets = [ResultSet('converge', 'table4', 'synthetic'),
            ResultSet('converge-iters15000', 'table4', 'synthetic'),
            ResultSet('converge-valinterval500', 'table3', 'real'),
            ResultSet('converge-valinterval500', 'table4', 'real')]
    assert figure_folders(sets) == {
        sets[0]: 'synthetic_t4', sets[1]: 'synthetic_t4_iters15000', sets[2]: 'real_t3',
        sets[3]: 'real_t4'}
    # Another recipe of the same protocol and data: the shortest name keeps the bare folder.
    cpu = ResultSet('cpu', 'table4', 'synthetic')
    assert figure_folders([cpu, sets[0]]) == {cpu: 'synthetic_t4',
                                              sets[0]: 'synthetic_t4_converge'}


def test_committed_loss_settings_are_the_losses_of_today():
    """``loss_settings.json`` (the report's gradients at the initial score and DGHM-C's
    defaults) holds what ``python -m benchmarks.loss_settings`` computes from the configs."""
    from benchmarks.loss_settings import OUT, loss_settings
    committed, now = json.loads(OUT.read_text()), loss_settings()
    assert committed['dghmc_defaults'] == now['dghmc_defaults']
    for loss, grad in now['gradient_at_prior'].items():
        mine = committed['gradient_at_prior'][loss]
        assert mine['config'] == grad['config']
        assert (mine['positive'], mine['negative']) == pytest.approx(
            (grad['positive'], grad['negative']), rel=1e-6)
    # The closed form of CE at p = 0.01: 1 - p for the positive, p for the negative.
    ce = committed['gradient_at_prior']['ce']
    assert (ce['positive'], ce['negative']) == pytest.approx((0.99, 0.01), rel=1e-5)
