"""A plain detector (config and weights) out of a teacher-student model (``PartialTeacher``).

The student (or the teacher) of a ``PartialTeacher`` run is an ordinary detector of the config's
``model.detector``: its weights are the checkpoint's ``student.`` (``teacher.``) entries with
the prefix removed, and its config is the run's config with ``model = model.detector``, the
training pipeline's ``MultiBranch`` replaced by the chosen view's steps and the teacher's hook
left out. ``tools/test.py``, ``tools/infer.py`` and ``tools/train.py`` take the pair as any
other.
"""
import copy
from typing import Dict, List

from mmengine.config import Config

__all__ = ['detector_state_dict', 'plain_detector_config']

#: The views a teacher-student model names its two detectors by.
VIEWS = ('student', 'teacher')


def _check_view(which: str) -> None:
    if which not in VIEWS:
        raise ValueError(f'which must be one of {VIEWS}, got {which!r}')


def detector_state_dict(state_dict: Dict[str, object], which: str = 'student',
                        source: str = 'checkpoint') -> Dict[str, object]:
    """The ``which.`` entries of a teacher-student state dict, without the prefix.

    Raises:
        ValueError: When ``state_dict`` has no such entry (``source`` names it).
    """
    _check_view(which)
    prefix = f'{which}.'
    plain = {key[len(prefix):]: value for key, value in state_dict.items()
             if key.startswith(prefix)}
    if not plain:
        raise ValueError(f'{source} holds no {prefix}* weights: not a teacher-student '
                         f'checkpoint (its keys start with '
                         f'{sorted({key.split(".")[0] for key in state_dict})[:5]})')
    return plain


def _flat_pipeline(pipeline: List[dict], which: str) -> List[dict]:
    steps = []
    for step in pipeline:
        if step.get('type') == 'MultiBranch':
            if which not in step:
                raise ValueError(f'the MultiBranch of the training pipeline has no {which!r} '
                                 f'view (it has {step.get("branch_field")})')
            steps.extend(copy.deepcopy(step[which]))
        else:
            steps.append(copy.deepcopy(step))
    return steps


def _set_train_pipeline(node, which: str) -> None:
    """Flatten every ``pipeline`` below ``node`` (datasets wrapped in datasets too)."""
    if isinstance(node, dict):
        if isinstance(node.get('pipeline'), list):
            node['pipeline'] = _flat_pipeline(node['pipeline'], which)
        for value in node.values():
            _set_train_pipeline(value, which)
    elif isinstance(node, list):
        for value in node:
            _set_train_pipeline(value, which)


def plain_detector_config(cfg: Config, which: str = 'student') -> Config:
    """The config of a teacher-student config's detector, trainable and testable alone.

    Args:
        cfg (Config): A config whose ``model`` has a ``detector``.
        which (str): The view whose training steps replace ``MultiBranch``. Defaults to
            ``'student'``.

    Returns:
        Config: A new config.

    Raises:
        ValueError: When ``cfg.model`` has no ``detector``.
    """
    _check_view(which)
    if 'detector' not in cfg.model:
        raise ValueError(f'{cfg.filename or "config"}: model {cfg.model.get("type")} has no '
                         'detector to export')
    plain = copy.deepcopy(cfg.to_dict())
    plain['model'] = plain['model']['detector']
    if 'train_dataloader' in plain:
        _set_train_pipeline(plain['train_dataloader'], which)
    plain['custom_hooks'] = [hook for hook in plain.get('custom_hooks', [])
                             if hook.get('type') != 'PartialTeacherHook']
    return Config(plain)
