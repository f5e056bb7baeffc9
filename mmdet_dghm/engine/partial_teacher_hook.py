"""The teacher of a :class:`~mmdet_dghm.models.PartialTeacher`: burn-in, then a mean teacher."""
from typing import Iterator, List, Optional

from mmdet.engine.hooks import MeanTeacherHook
from mmdet.registry import HOOKS
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from ..models import TEACHER_BRANCHES, PartialTeacher
from ..structures.annotation_status import STATUS_KEYS

__all__ = ['PartialTeacherHook', 'check_teacher_pipeline']

#: What every view must pack besides the images: the status, and the view's geometry.
VIEW_META_KEYS = STATUS_KEYS + ('homography_matrix', )


def _pipelines(dataset) -> Iterator[list]:
    """The transform lists of a dataset and of the datasets it wraps."""
    pipeline = getattr(dataset, 'pipeline', None)
    if pipeline is not None:
        yield list(getattr(pipeline, 'transforms', pipeline))
    for attr in ('dataset', 'datasets'):
        inner = getattr(dataset, attr, None)
        for one in inner if isinstance(inner, (list, tuple)) else [inner]:
            if one is not None and one is not dataset:
                yield from _pipelines(one)


def _packed_meta_keys(transforms: list) -> Optional[tuple]:
    packs = [t for t in transforms if type(t).__name__ == 'PackDetInputs']
    return tuple(packs[-1].meta_keys) if packs else None


def check_teacher_pipeline(dataset) -> None:
    """Raise ``ValueError`` naming what a PartialTeacher's training data lacks.

    Every pipeline of the dataset must end in ``MultiBranch`` with the ``teacher`` and
    ``student`` views, each packed with ``partially_annotated``, ``partial_labels`` and
    ``homography_matrix`` among its ``meta_keys``.
    """
    name = type(dataset).__name__
    problems: List[str] = []
    found = False
    for transforms in _pipelines(dataset):
        branches = [t for t in transforms if type(t).__name__ == 'MultiBranch']
        if not branches:
            continue
        found = True
        views = branches[-1].branch_pipelines
        for view in TEACHER_BRANCHES:
            if view not in views:
                problems.append(f'MultiBranch has no {view!r} view (it has {sorted(views)})')
                continue
            meta_keys = _packed_meta_keys(list(views[view].transforms))
            if meta_keys is None:
                problems.append(f'the {view!r} view does not end in PackDetInputs')
                continue
            lacking = [key for key in VIEW_META_KEYS if key not in meta_keys]
            if lacking:
                problems.append(f'the {view!r} view packs no {lacking} (PackDetInputs '
                                'meta_keys)')
    if not found:
        problems.append(f'no MultiBranch with the views {list(TEACHER_BRANCHES)} in its '
                        'pipeline')
    if problems:
        raise ValueError(f'PartialTeacher training data ({name}): ' + '; '.join(problems))


@HOOKS.register_module()
class PartialTeacherHook(MeanTeacherHook):
    """Keep a PartialTeacher's teacher: the student itself during burn-in, then its EMA.

    Before each iteration it tells the model whether the burn-in
    (``semi_train_cfg.burn_in_iters``) is over; after each, the teacher becomes
    ``(1 - m) * teacher + m * student`` with ``m = 1`` during burn-in and ``momentum`` after.
    Buffers (BatchNorm statistics) follow as the parameters do unless ``skip_buffer``: a
    detector trained from scratch has no other source of the teacher's statistics.

    Args:
        momentum (float): EMA momentum after burn-in. Defaults to 0.001.
        interval (int): Update the teacher every ``interval`` iterations. Defaults to 1.
        skip_buffer (bool): Leave the teacher's buffers alone. Defaults to False.

    Raises:
        TypeError: At the start of training, when the model is not a PartialTeacher.
        ValueError: At the start of training, when the data lacks a view or a meta key
            (:func:`check_teacher_pipeline`).
    """

    def __init__(self, momentum: float = 0.001, interval: int = 1,
                 skip_buffer: bool = False) -> None:
        super().__init__(momentum=momentum, interval=interval, skip_buffer=skip_buffer)

    @staticmethod
    def _model(runner: Runner) -> PartialTeacher:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not isinstance(model, PartialTeacher):
            raise TypeError(f'PartialTeacherHook trains a PartialTeacher, got '
                            f'{type(model).__name__}')
        return model

    def before_train(self, runner: Runner) -> None:
        self._model(runner)
        check_teacher_pipeline(runner.train_dataloader.dataset)
        super().before_train(runner)

    def before_train_iter(self, runner: Runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        model = self._model(runner)
        model.set_pseudo_labels(runner.iter >= model.burn_in_iters)

    def after_train_iter(self, runner: Runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if (runner.iter + 1) % self.interval:
            return
        model = self._model(runner)
        burning_in = runner.iter + 1 < model.burn_in_iters
        self.momentum_update(model, 1.0 if burning_in else self.momentum)
