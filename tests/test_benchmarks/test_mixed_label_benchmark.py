"""benchmarks.mixed_labels: per-class measures, a few-iteration run, resume, report."""
import json

import numpy as np
import pytest

from benchmarks import mixed_labels as experiment


def test_class_measures_on_a_hand_made_image():
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], float)
    boxes = np.array([[0, 0, 10, 10], [60, 60, 70, 70], [20, 20, 30, 30], [40, 40, 50, 50],
                      [0, 0, 10, 10]], float)
    scores = np.array([0.9, 0.8, 0.3, 0.6, 0.7])
    # The last box hits a class-0 cell but is class 1: a false positive of class 1.
    images = [(boxes, scores, np.array([0, 0, 0, 1, 1]), gt, np.array([0, 0, 1]))]
    # Class 0: at 0.5 one of two cells; one FP per image reaches recall 1, none only 0.5.
    assert experiment.class_measures(images, 0, fps=(1.0, 2.0)) == dict(
        recall=0.5, froc=1.0, num_gt=2)
    assert experiment.class_measures(images, 0, fps=(0.5, 1.0))['froc'] == 0.75
    # Class 1: its one cell at 0.6 but the 0.7 FP ranks first, so 0.5 FP/image allows none.
    assert experiment.class_measures(images, 1, fps=(0.5, 1.0)) == dict(
        recall=1.0, froc=0.5, num_gt=1)


@pytest.mark.slow
def test_few_iterations_resume_and_report(tmp_path, capsys):
    args = ['--work-dir', str(tmp_path), '--losses', 'dghmc', '--seeds', '0', '--iters', '2',
            '--num-per-source', '2', '--num-test', '2', '--image-size', '128']
    assert experiment.main(args + ['--report', str(tmp_path / 'report.md')]) == 0
    test = json.loads((tmp_path / 'data' / 'test.json').read_text())
    result = json.loads((tmp_path / 'dghmc_seed0' / 'result.json').read_text())
    for category in test['categories']:
        measures = result['classes'][category['name']]
        assert measures['num_gt'] == sum(a['category_id'] == category['id']
                                         for a in test['annotations'])
        assert 0.0 <= measures['recall'] <= 1.0 and 0.0 <= measures['froc'] <= 1.0
    assert result['iters'] == 2 and result['loss'] == 'dghmc'
    report = (tmp_path / 'report.md').read_text()
    assert '| dghmc | 0 |' in report and '| dghmc | 1 |' in report

    capsys.readouterr()
    assert experiment.main(args) == 0
    assert 'dghmc seed 0 done, skipped' in capsys.readouterr().out
    assert json.loads((tmp_path / 'dghmc_seed0' / 'result.json').read_text()) == result
