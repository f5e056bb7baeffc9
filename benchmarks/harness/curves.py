"""Learning curves of a run from its mmengine scalars logs, and where they reach a plateau.

The benchmark's logger writes one record per logged training iteration and one per held-out
evaluation, at the iteration it ran (``log_metric_by_epoch=False``); evaluations beside the
validation (``ExtraEvaluationHook``) join the validation's record under ``<name>/``. A run
resumed after an interruption has one log per attempt.
"""
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['scalar_logs', 'read_loss_curve', 'read_eval_curves',
           'plateau_iteration', 'final_trend', 'PLATEAU_TOL', 'PLATEAU_WINDOW', 'TREND_SHARE']


def scalar_logs(run_dir: Path) -> List[List[dict]]:
    """The records of each of a run's mmengine ``vis_data/scalars.json`` logs, oldest log
    first (a resumed or restarted run has one log per attempt)."""
    return [[json.loads(line) for line in log.read_text().splitlines() if line.strip()]
            for log in sorted(Path(run_dir).glob('*/vis_data/scalars.json'))]


def read_loss_curve(run_dir: Path) -> Dict[str, np.ndarray]:
    """Training loss records of a run's mmengine ``vis_data/scalars.json`` logs.

    An iteration logged by several attempts (a run resumed from an earlier checkpoint) keeps
    its last record.

    Returns:
        dict: ``iter``, ``loss_cls``, ``loss_bbox`` arrays (empty when there is no log).
    """
    by_iter = {r['iter']: r for log in scalar_logs(run_dir) for r in log if 'loss_cls' in r}
    records = [by_iter[i] for i in sorted(by_iter)]
    return {name: np.asarray([r[name] for r in records], float)
            for name in ('iter', 'loss_cls', 'loss_bbox')}


#: A run is at its plateau once held-out FROC moves by less than this over the last
#: ``PLATEAU_WINDOW`` evaluations.
PLATEAU_TOL = 0.01
PLATEAU_WINDOW = 3


def plateau_iteration(val: Sequence[Tuple[int, float]], tol: float = PLATEAU_TOL,
                      window: int = PLATEAU_WINDOW) -> Optional[int]:
    """The iteration from which a held-out curve stays on its plateau, or None.

    A window of ``window`` consecutive evaluations is flat when its FROC range is below
    ``tol``. The plateau is reached when the last window is flat; it starts at the last
    evaluation of the earliest window from which every later window is flat too.

    Args:
        val: ``(iteration, FROC)`` in iteration order (``digestpath/froc`` of
            :func:`read_eval_curves`).
        tol: Largest FROC range of a flat window.
        window: Evaluations per window.

    Returns:
        int or None: The iteration, None when the curve is shorter than a window or its end
        still moves.
    """
    values = np.array([froc for _, froc in val], dtype=float)
    if len(values) < window:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(values, window)
    flat = np.ptp(windows, axis=1) < tol
    if not flat[-1]:
        return None
    moving = np.flatnonzero(~flat)
    first = int(moving[-1]) + 1 if len(moving) else 0
    return int(val[first + window - 1][0])


#: Share of a run, counted back from its last evaluation, over which :func:`final_trend`
#: fits its slope: the last fifth, the evaluations after the recipes' learning-rate drop.
TREND_SHARE = 0.2


def final_trend(val: Sequence[Tuple[int, float]], share: float = TREND_SHARE
                ) -> Optional[float]:
    r"""Least-squares slope of a held-out curve over its last ``share`` of iterations, per
    1,000 iterations.

    With the evaluations :math:`(t_i, y_i)` at :math:`t_i > (1 - s)\,t_{last}`, the slope is
    :math:`1000 \sum (t_i - \bar t)(y_i - \bar y) / \sum (t_i - \bar t)^2`. Unlike the
    plateau test it averages over evaluation noise: a curve that swings by 0.05 around a
    flat level has a slope near 0, one still rising has a positive slope. The evaluation at
    the start of the span is left out: with the learning rate dropped there, the jump after
    it is the drop's, not the trend's.

    Args:
        val: ``(iteration, value)`` in iteration order.
        share: Share of the last iteration the fit covers.

    Returns:
        float or None: The slope, None with fewer than two evaluations in the span.
    """
    if not val:
        return None
    steps = np.array([step for step, _ in val], dtype=float)
    values = np.array([v for _, v in val], dtype=float)
    keep = steps > (1 - share) * steps[-1]
    if keep.sum() < 2:
        return None
    t, y = steps[keep] - steps[keep].mean(), values[keep]
    return float(1000 * (t * (y - y.mean())).sum() / (t * t).sum())


def read_eval_curves(run_dir: Path) -> Dict[str, List[Tuple[int, float]]]:
    """Every scalar of the run's held-out evaluations as ``{key: [(iteration, value), ...]}``
    (``digestpath/froc``, ``train/digestpath/r_recall@8fp``, ...), iterations ascending.

    An evaluation record is one with ``digestpath/froc``; an iteration evaluated twice (the
    loop's last evaluation and the one after training, or a resumed attempt) keeps its last
    record. An evaluation logged at step 0 has no iteration and is left out (the records of
    runs whose logs did that were converted once: ``benchmarks/archive/convert_records.py``).
    """
    by_iter: Dict[int, dict] = {}
    for log in scalar_logs(run_dir):
        for record in log:
            if 'digestpath/froc' in record and record.get('step', 0) > 0:
                by_iter[record['step']] = record
    curves: Dict[str, List[Tuple[int, float]]] = {}
    for step in sorted(by_iter):
        for key, value in by_iter[step].items():
            if key != 'step' and isinstance(value, (int, float)):
                curves.setdefault(key, []).append((step, float(value)))
    return curves
