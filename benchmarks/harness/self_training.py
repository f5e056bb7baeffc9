"""One round of offline self-training as a benchmark arm (``selftrain-ce``, ``selftrain-pu``).

Round one is the plain run of the arm's loss (:data:`~.profiles.SELF_TRAINING`) with the same
protocol, data, missing rate, fold, seed and profile. Its final checkpoint labels the training
images as a user would label them, through ``tools/pseudo_label.py`` at the thresholds of the
arm's config (``pseudo_label_cfg``), into ``<run>/pseudo_labels/``: a data root of links to
the images whose XML files hold the kept boxes and the pseudo-boxes, the removed boxes written
out beside them (``--materialise-drop``, ``removed_boxes.json``). Round two trains the same
loss from scratch on that root with ``drop_rate=0`` (nothing is removed twice), on the same
schedule and seed, and is evaluated as every run is, on the original data: the held-out
fold's complete boxes, the training images with the seed's removal for R-recall. The tool's
summary (``<run>/pseudo_labels.json``: pseudo-boxes, those on exhaustively annotated images,
their precision and recall against the removed boxes at IoU >= 0.3) goes into the result.

The labels are written once: a run resumed after them trains on them again; remove the run's
folder to label anew (after round one was trained again, for example).
"""
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mmengine.config import Config

from .profiles import SELF_TRAINING

__all__ = ['PSEUDO_LABEL_DIR', 'SUMMARY_FILE', 'MATCH_IOU_THR', 'round_one', 'pseudo_label',
           'use_pseudo_labels']

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'pseudo_label.py'
#: The data root round two trains on, in the run's folder.
PSEUDO_LABEL_DIR = 'pseudo_labels'
#: The tool's summary of the labels, in the run's folder.
SUMMARY_FILE = 'pseudo_labels.json'
#: IoU from which a pseudo-box is on a removed box: PartialTeacher's ``match_iou_thr``, so
#: that the report sets the two arms' pseudo-label quality side by side.
MATCH_IOU_THR = 0.3


def round_one(spec):
    """The spec of a self-training run's round one: the same run with the arm's loss."""
    return dataclasses.replace(spec, loss=SELF_TRAINING[spec.loss])


def use_pseudo_labels(train_dataset: dict, run_dir: Path) -> None:
    """Make a training dataset config round two's: the run's pseudo-labelled data root, read
    with nothing removed (its XML files hold the kept boxes already)."""
    train_dataset.update(data_root=str(run_dir / PSEUDO_LABEL_DIR), drop_rate=0.0)


def pseudo_label(run_dir: Path, config_path: Path, round_one_dir: Path, checkpoint: Path,
                 drop_rate: float) -> dict:
    """Label round one's training images into ``run_dir/pseudo_labels`` with the user's tool.

    Args:
        run_dir (Path): The self-training run's folder.
        config_path (Path): The arm's config (its ``pseudo_label_cfg``).
        round_one_dir (Path): Round one's folder (its ``config.py``: the training and
            evaluation data and the model of that run).
        checkpoint (Path): Round one's final checkpoint.
        drop_rate (float): The run's missing rate (> 0: written out, ``--materialise-drop``).

    Returns:
        dict: The tool's summary with ``time_s``, the seconds the labelling took.

    Raises:
        ValueError: For a config without ``pseudo_label_cfg``.
        RuntimeError: When the tool fails (its output is in the run's log).
    """
    settings = Config.fromfile(str(config_path)).get('pseudo_label_cfg')
    if settings is None:
        raise ValueError(f'benchmark: {config_path} sets no pseudo_label_cfg (pos_thr, '
                         'ignore_thr, iou_thr, max_per_annotated) for tools/pseudo_label.py')
    partial = run_dir / (SUMMARY_FILE + '.tmp')
    command = [sys.executable, str(TOOL), str(round_one_dir / 'config.py'), str(checkpoint),
               '--out', str(run_dir / PSEUDO_LABEL_DIR), '--summary', str(partial),
               '--match-iou-thr', str(MATCH_IOU_THR), '--pos-thr', str(settings['pos_thr']),
               '--ignore-thr', str(settings['ignore_thr']), '--iou-thr',
               str(settings['iou_thr'])]
    if settings.get('max_per_annotated') is not None:
        command += ['--max-per-annotated', str(settings['max_per_annotated'])]
    if drop_rate > 0:
        command.append('--materialise-drop')
    # The tool imports this checkout's package, not whichever one is installed.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p))
    print(f'benchmark: pseudo-labelling with {round_one_dir.name}/{checkpoint.name}', flush=True)
    start = time.perf_counter()
    code = subprocess.run(command, cwd=str(REPO), env=env).returncode
    if code:
        raise RuntimeError(f'benchmark: tools/pseudo_label.py failed (exit {code}) on '
                           f'{checkpoint}: {" ".join(command)}')
    summary = dict(json.loads(partial.read_text()), time_s=round(time.perf_counter() - start, 1))
    (run_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
    partial.unlink()
    return summary
