"""The self-training arms: planned after their round one, waiting for it, refused without it,
and a smoke run that labels its round one's training images and trains on them."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from smoke_runs import smoke_run_id

from benchmarks import run as benchmark_run
from benchmarks.harness import matrix
from benchmarks.harness.matrix import execute_runs, plan_runs
from benchmarks.harness.profiles import ALL_LOSSES, LOSS_LABELS, PROFILES, SELF_TRAINING
from mmdet_dghm.datasets.missing import drop_mask
from mmdet_dghm.datasets.removed_boxes import read_removed_boxes
from mmdet_dghm.datasets.voc_annotation import parse_voc_xml, sanitize_boxes

SRC = ('ring_cell_cancer', )


def test_self_training_arms_are_losses_of_the_report():
    assert SELF_TRAINING == {'selftrain-ce': 'ce', 'selftrain-pu': 'pu'}
    assert ALL_LOSSES[-2:] == ('selftrain-ce', 'selftrain-pu')
    assert (LOSS_LABELS['selftrain-ce'], LOSS_LABELS['selftrain-pu']) == (
        'Self-training (CE)', 'Self-training (PU)')


def test_self_training_is_planned_after_its_round_one():
    runs = plan_runs(['table4'], {'table4': ['synthetic']}, {'synthetic': '/d'},
                     ['selftrain-pu', 'ce', 'selftrain-ce', 'pu'], [0, 1], [0], 5,
                     PROFILES['smoke'], [0.7])
    assert [(r.seed, r.loss) for r in runs] == [
        (0, 'ce'), (0, 'pu'), (0, 'selftrain-pu'), (0, 'selftrain-ce'),
        (1, 'ce'), (1, 'pu'), (1, 'selftrain-pu'), (1, 'selftrain-ce')]


class FinishedProcess:
    """A run process that has exited with ``code``, leaving a result on success."""

    def __init__(self, run_dir: Path, code: int):
        self.code = code
        if code == 0:
            (run_dir / 'result.json').write_text('{}')

    def poll(self):
        return self.code


@pytest.mark.parametrize('ce_code', [0, 1])
def test_self_training_waits_for_its_round_one(tmp_path, monkeypatch, ce_code):
    dirs = {name: tmp_path / name for name in ('ce', 'selftrain-ce', 'pu', 'selftrain-pu')}
    for run_dir in dirs.values():
        run_dir.mkdir()
    started = []

    def launch(run_dir, device, threads, reevaluate):
        started.append(run_dir.name)
        return FinishedProcess(run_dir, ce_code if run_dir.name == 'ce' else 0)

    monkeypatch.setattr(matrix, '_launch', launch)
    messages = []
    codes = execute_runs(list(dirs.values()), parallel=2, log=messages.append,
                         depends_on={dirs['selftrain-ce']: dirs['ce'],
                                     dirs['selftrain-pu']: dirs['pu']})
    # Two at a time: self-training waits while its round one runs, PU goes first meanwhile.
    if ce_code == 0:
        assert started == ['ce', 'pu', 'selftrain-ce', 'selftrain-pu']
        assert set(codes.values()) == {0}
    else:
        assert started == ['ce', 'pu', 'selftrain-pu']
        assert codes == {'ce': 1, 'pu': 0, 'selftrain-ce': -1, 'selftrain-pu': 0}
        assert ('FAILED (not started) (3/4): selftrain-ce: its round one ce did not finish'
                in messages)


def test_self_training_without_its_round_one_is_refused(smoke, tmp_path):
    _, work = smoke
    args = ['--profile', 'smoke', '--protocol', 'table4', '--drop-rates', '0.5', '--seeds', '0',
            '--iters', '2', '--threads', '1', '--no-report', '--work-dir', str(tmp_path),
            '--synthetic-root', str(work / 'synthetic_smoke')]
    with pytest.raises(SystemExit, match=rf'{smoke_run_id("selftrain-ce")} trains on the '
                       rf'pseudo-labels of {smoke_run_id("ce")}, which has not finished .*'
                       '--losses ce selftrain-ce trains it before this run'):
        benchmark_run.main(args + ['--losses', 'selftrain-ce'])
    # Finished without its checkpoint: named, with what to do.
    ce_dir = tmp_path / 'runs' / smoke_run_id('ce')
    ce_dir.mkdir(parents=True)
    shutil.copy(work / 'runs' / smoke_run_id('ce') / 'result.json', ce_dir)
    with pytest.raises(SystemExit, match=r'needs the final checkpoint iter_2\.pth of '
                       rf'{smoke_run_id("ce")}, and .* holds none; remove its result\.json'):
        benchmark_run.main(args + ['--losses', 'ce', 'selftrain-ce'])
    assert not (tmp_path / 'runs' / smoke_run_id('selftrain-ce')).exists()


@pytest.mark.slow
def test_self_training_smoke_run_labels_round_one_and_trains_on_it(smoke, tmp_path):
    _, work = smoke
    synthetic = work / 'synthetic_smoke'
    # Round one: the session's CE smoke run, checkpoint included.
    shutil.copytree(work / 'runs' / smoke_run_id('ce'), tmp_path / 'runs' / smoke_run_id('ce'))
    assert benchmark_run.main([
        '--profile', 'smoke', '--protocol', 'table4', '--drop-rates', '0.5', '--seeds', '0',
        '--iters', '2', '--threads', '1', '--no-report', '--work-dir', str(tmp_path),
        '--synthetic-root', str(synthetic), '--losses', 'selftrain-ce', 'ce']) == 0
    run_dir = tmp_path / 'runs' / smoke_run_id('selftrain-ce')
    result = json.loads((run_dir / 'result.json').read_text())
    assert result['round1_run_id'] == smoke_run_id('ce')
    assert result['round1_checkpoint'] == 'iter_2.pth'
    first = json.loads((tmp_path / 'runs' / smoke_run_id('ce') / 'result.json').read_text())
    assert result['round1'] == dict(metrics=first['metrics'],
                                    train_metrics=first['train_metrics'])
    assert result['config'] == ('configs/digestpath/'
                                'retinanet_r18-light_fpn_selftrain-ce_digestpath.py')
    labels = result['pseudo_labels']
    assert (labels['pos_thr'], labels['ignore_thr'], labels['iou_thr'],
            labels['max_per_annotated']) == (0.4, 0.4, 0.3, 2.33)
    assert labels['materialised_drop'] is True and labels['pseudo_on_exhaustive'] == 0
    assert {'digestpath/froc', 'digestpath/recall'} <= set(result['metrics'])
    assert 'digestpath/r_recall@8fp' in result['train_metrics']

    # Round two read the labelled root with nothing removed again: its XML files hold the
    # kept boxes of the seed's removal (and the pseudo-boxes), the removed ones beside them.
    root = run_dir / 'pseudo_labels'
    cfg = Config.fromfile(str(run_dir / 'config.py'))
    assert (cfg.train_dataloader.dataset.data_root, cfg.train_dataloader.dataset.drop_rate) == (
        str(root), 0.0)
    assert cfg.test_dataloader.dataset.data_root == str(synthetic)
    assert cfg.val_dataloader.dataset.data_root == str(synthetic)
    removal = read_removed_boxes(root)
    assert (removal.drop_rate, removal.drop_seed, removal.source) == (0.5, 0, str(synthetic))
    pseudo_total, removed_total = 0, 0
    for xml in sorted((synthetic / 'sig-train-pos').glob('*.xml')):
        original = parse_voc_xml(xml, SRC)
        boxes, keep, _ = sanitize_boxes(original.bboxes, original.width, original.height)
        dropped = drop_mask(int(keep.sum()), 0.5, 0, xml.with_suffix('.jpeg').name)
        written = parse_voc_xml(root / 'sig-train-pos' / xml.name, SRC)
        np.testing.assert_array_equal(written.bboxes[~written.pseudo], boxes[keep][~dropped])
        np.testing.assert_array_equal(removal.boxes[xml.with_suffix('.jpeg').name],
                                      boxes[keep][dropped])
        pseudo_total += int(written.pseudo.sum())
        removed_total += int(dropped.sum())
    assert labels['pseudo_boxes'] == labels['quality']['pseudo_boxes'] == pseudo_total
    assert 0 < labels['quality']['removed_boxes'] <= removed_total
