"""The mining page (``benchmarks/partial_teacher.py``) on hand-made result records: the
self-training arms beside CE and PU and against their own round one, with their labelling's
quality."""
import json
from pathlib import Path

import pytest

from benchmarks import partial_teacher

FROC = {'ce': [0.80, 0.70, 0.60], 'pu': [0.82, 0.72, 0.62], 'selftrain-ce': [0.88, 0.77, 0.66]}
ROUND_ONE_FROC = [0.85, 0.70, 0.55]


def record(loss: str, seed: int, froc: float, **extra) -> dict:
    spec = dict(protocol='table4', dataset='synthetic', data_root='/d', loss=loss,
                drop_rate=0.7, fold=0, num_folds=3, seed=seed, profile='converge')
    return dict(run_id=f'converge_{loss}_seed{seed}', spec=spec,
                profile=dict(name='converge', iters=5000),
                metrics={'digestpath/froc': froc, 'digestpath/recall': 0.1},
                train_metrics={'digestpath/r_recall@8fp': froc / 2}, **extra)


def write_runs(root: Path, **extra_of_selftrain) -> Path:
    for loss, values in FROC.items():
        for seed, froc in enumerate(values):
            extra = {}
            if loss == 'selftrain-ce':
                extra = dict(
                    pseudo_labels=dict(pseudo_boxes=10 * (seed + 1), pseudo_on_exhaustive=0,
                                       quality=dict(precision=0.5 + 0.1 * seed,
                                                    recall=0.2 * (seed + 1))),
                    round1=dict(metrics={'digestpath/froc': ROUND_ONE_FROC[seed],
                                         'digestpath/recall': 0.1},
                                train_metrics={'digestpath/r_recall@8fp': 0.3}),
                    **extra_of_selftrain)
            run = record(loss, seed, froc, **extra)
            folder = root / run['run_id']
            folder.mkdir(parents=True)
            (folder / 'result.json').write_text(json.dumps(run))
    return root


def page(root: Path, tmp_path: Path) -> str:
    runs = partial_teacher.load_runs([root], 'converge', 0.7)
    return '\n'.join(partial_teacher.report(runs, tmp_path / 'fig.png', tmp_path, 'cmd'))


def test_self_training_is_paired_with_its_base_and_its_round_one(tmp_path):
    text = page(write_runs(tmp_path / 'runs'), tmp_path)
    # (0.88 + 0.77 + 0.66) / (0.80 + 0.70 + 0.60) = 1.10; over its round one 2.31 / 2.10
    assert '- Self-training (CE) against CE, held-out FROC: 1.10x; paired difference' in text
    assert ('- Self-training (CE) against its round one, held-out FROC: 1.10x; paired '
            'difference') in text
    assert "- Self-training (CE) against its round one, removed cells' recall at 8 FP/img: " \
        "1.28x" in text  # 1.155 / 0.9
    assert '| Self-training (CE) | 3 | 0.770 ± 0.090 | 0.385 ± 0.045 | 0.100 ± 0.000 | ' \
        '0.600 ± 0.082 | 0.400 ± 0.163 | 0 |' in text
    assert (tmp_path / 'fig.png').is_file()
    # PU's row has no pseudo-labels; PU is no mining arm
    assert '| PU (PNU) | 3 | 0.720 ± 0.082 |' in text
    assert 'PU (PNU) against' not in text


def test_two_runs_of_one_id_are_refused(tmp_path):
    first = write_runs(tmp_path / 'a')
    second = tmp_path / 'b' / 'converge_ce_seed0'
    second.mkdir(parents=True)
    (second / 'result.json').write_text((first / 'converge_ce_seed0' / 'result.json').read_text())
    with pytest.raises(ValueError, match=r'both hold run converge_ce_seed0; give one of them'):
        partial_teacher.load_runs([first, tmp_path / 'b'], 'converge', 0.7)


def test_a_labelling_not_scored_against_removed_boxes_is_refused(tmp_path):
    root = write_runs(tmp_path / 'runs')
    path = root / 'converge_selftrain-ce_seed1' / 'result.json'
    run = json.loads(path.read_text())
    run['pseudo_labels']['quality'] = None
    path.write_text(json.dumps(run))
    with pytest.raises(ValueError, match=r'converge_selftrain-ce_seed1 were not scored'):
        page(root, tmp_path)
