"""Hands every status-aware loss call of a head the annotation status of each of its rows.

A detection head computes its targets per image and flattens them into the rows of each loss
call: one FPN level, all levels, one decoder layer, the sampled RoIs of the batch. Which image
a row comes from is known where the head flattens, not in the loss. So a status-aware head
(:class:`StatusAwareHeadMixin` in front of a stock mmdet head) says it there:

1. around the stock ``loss_by_feat`` (or the RoI head's ``loss``) it computes the batch's
   status once from the metainfo (:meth:`~StatusAwareHeadMixin.batch_status`, (B, C), or
   (B, 1) for class-agnostic objectness);
2. around each stock method that calls a loss it names the image of every row of that call
   (:meth:`~StatusAwareHeadMixin.rows_from_images`, an index tensor built from the per-image
   targets, the per-level maps, the queries or ``rois[:, 0]``): within that block each call
   of a loss that takes ``partial`` receives ``partial=status[image_index]`` as an argument,
   through a forward pre-hook registered for the block only.

Where a head names it, each row's feature level goes to a loss computing its statistic per
level (``population='level'``), and a loss computing it over the batch
(``population='batch'``) gets it from a first pass of the stock method where that method
calls the loss more than once (:meth:`~StatusAwareHeadMixin.with_batch_status`,
:mod:`~mmdet_dghm.models.losses.statistic_population`).

A call whose rows do not match the named images raises instead of guessing; a status-aware
loss called where the head named no rows gets no ``partial`` and raises its own error. Losses
without a ``partial`` argument run the stock code untouched. The stock loss code, targets,
``avg_factor`` and loss dicts stay mmdet's; adding a family is one subclass that wraps its
loss-calling methods this way (see "Adding a detector family" in docs/development.md).

The status is a bool today: True where the negative of (row, class) is noisy. It is indexed
per row like any per-image target, so a float reliability per element can travel the same way.
"""
import inspect
import warnings
from contextlib import ExitStack, contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.utils import InstanceList
from torch import Tensor

from ..structures.annotation_status import (
    PARTIAL_KEY,
    PARTIAL_LABELS_KEY,
    StatusFallbackWarning,
    compact_status,
    has_status,
    image_class_status,
    image_partial_flags,
)
from .losses.statistic_population import BatchStatistic, feature_level_index


def loss_accepts_partial(loss: nn.Module) -> bool:
    """Whether a loss module's (or loss class's) ``forward`` declares a ``partial`` argument.

    Only an explicitly named parameter counts: a ``**kwargs`` catch-all (mmdet's ``GHMC``,
    ``CrossEntropyLoss``) would swallow the mask silently or forward it somewhere that rejects it.

    Args:
        loss (nn.Module | type): A built loss, or its class.

    Returns:
        bool: True if ``loss.forward`` takes ``partial`` by name.
    """
    param = inspect.signature(loss.forward).parameters.get('partial')
    return param is not None and param.kind in (param.POSITIONAL_OR_KEYWORD,
                                                param.KEYWORD_ONLY)


def image_major_index(num_images: int, rows_per_image: int, device: torch.device) -> Tensor:
    """Image of each row of a (B, n, ...) per-image tensor flattened to (B * n, ...).

    Returns:
        Tensor: (B * n,) int64, ``[0] * n + [1] * n + ...``.
    """
    return torch.arange(num_images, device=device).repeat_interleave(rows_per_image)


def level_major_index(num_images: int, rows_per_level: Sequence[int],
                      device: torch.device) -> Tensor:
    """Image of each row when per-level (B, n_l, ...) tensors are flattened and concatenated.

    The order of mmdet's flattened multi-level targets: level by level, image-major within a
    level (``torch.cat([x.reshape(-1, C) for x in per_level])``).

    Returns:
        Tensor: (B * sum(n_l),) int64.
    """
    return torch.cat([image_major_index(num_images, n, device) for n in rows_per_level])


def level_major_levels(num_images: int, rows_per_level: Sequence[int],
                       device: torch.device) -> Tensor:
    """Feature level of each row in :func:`level_major_index`'s order.

    Returns:
        Tensor: (B * sum(n_l),) int64, ``[0] * B n_0 + [1] * B n_1 + ...``.
    """
    return feature_level_index([num_images * n for n in rows_per_level], device)


def one_level(image_index: Tensor) -> Tensor:
    """Feature level of each row of a call holding one level's rows: the same for all."""
    return torch.zeros_like(image_index)


def population_of(loss: nn.Module) -> str:
    """The rows a status loss's statistic covers: its ``population``, ``'call'`` if it has
    no such option (no statistic)."""
    return getattr(loss, 'population', 'call')


def rows_status(status: Tensor, image_index: Tensor) -> Tensor:
    """Each row's status: ``status[image_index]``, as (N,) where every image is uniform.

    Args:
        status (Tensor): (B, C) or (B, 1) status of each image.
        image_index (Tensor): (N,) int64 image of each row.

    Returns:
        Tensor: (N,) when each image is all-partial or all-exhaustive (the loss broadcasts it
        over the classes, one byte per row instead of per element), else (N, C).
    """
    return compact_status(status).index_select(0, image_index.to(status.device))


def check_sigmoid_loss(head_name: str, loss_cfg: Optional[dict]) -> None:
    """Refuse a loss config declaring ``partial`` without ``use_sigmoid=True``.

    mmdet's dense heads size their classification output from ``loss_cls['use_sigmoid']`` (C
    channels if True, C + 1 softmax channels otherwise, also when the key is missing), and
    the status is defined on per-class sigmoid outputs.

    Raises:
        ValueError: Naming the head, the loss and what is supported.
    """
    if not isinstance(loss_cfg, dict) or loss_cfg.get('use_sigmoid', False):
        return
    loss_type = loss_cfg.get('type')
    loss_cls = MODELS.get(loss_type) if isinstance(loss_type, str) else loss_type
    if isinstance(loss_cls, type) and loss_accepts_partial(loss_cls):
        raise ValueError(f'{head_name}: {loss_cls.__name__} needs a sigmoid classification '
                         f'output; set use_sigmoid=True in its config (the head sizes its '
                         f'output from it). Softmax classification (use_sigmoid False or '
                         f'unset) is not supported')


class StatusAwareHeadMixin:
    """Gives a stock mmdet head's status-aware losses the status of each of their rows.

    Put it first among the bases of a subclass of a stock head; the subclass wraps the stock
    method that computes the batch's targets in :meth:`batch_status` and each stock method
    that calls a loss in :meth:`rows_from_images` (module docstring). Arguments, layers,
    targets, other losses and predictions stay the stock head's.

    Attributes:
        status_losses (tuple[str]): Paths (``nn.Module.get_submodule``) of the losses that may
            take the status. Defaults to ``('loss_cls',)``; YOLOX's negatives live in
            ``loss_obj``, an RoI head's classifier in ``bbox_head.loss_cls``.
        class_agnostic (bool): One objectness output (the RPN's, YOLOX's): a negative is
            noisy when its image has any partial label. Defaults to False.

    Raises:
        ValueError: At construction, if a status loss declares ``partial`` and does not set
            ``use_sigmoid=True`` (the head would size a softmax output).
    """

    status_losses: Tuple[str, ...] = ('loss_cls', )
    class_agnostic: bool = False

    def __init__(self, *args, **kwargs) -> None:
        for key in self.status_losses:
            check_sigmoid_loss(type(self).__name__, kwargs.get(key))
        super().__init__(*args, **kwargs)
        self.warned_status_fallback = False
        self.current_status: Optional[Tensor] = None

    def status_taking_losses(self, paths: Optional[Sequence[str]] = None) -> List[nn.Module]:
        """The built losses of ``paths`` (default :attr:`status_losses`) that take ``partial``."""
        losses = [self.get_submodule(path) for path in (paths or self.status_losses)]
        return [loss for loss in losses if loss_accepts_partial(loss)]

    @property
    def status_num_classes(self) -> int:
        """C, the classes of the status: the head's ``num_classes``."""
        return self.num_classes

    def annotation_status(self, batch_img_metas: Sequence[dict],
                          batch_gt_instances: InstanceList, device: torch.device) -> Tensor:
        """(B, C) status of a batch, (B, 1) for class-agnostic heads.

        The first batch without any status key raises a :class:`StatusFallbackWarning`
        naming ``meta_keys``; later ones are silent.
        """
        if not self.warned_status_fallback and not has_status(batch_img_metas):
            self.warned_status_fallback = True
            warnings.warn(
                f'{type(self).__name__}: no image of the batch has {PARTIAL_KEY!r} or '
                f'{PARTIAL_LABELS_KEY!r} metainfo, so images with a box are taken as partially '
                f'annotated and box-less ones as exhaustively annotated. This is intended for '
                f'datasets without annotation status (CocoDataset); if your dataset writes '
                f"status (PartialCocoDataset, DigestPathDataset, ...), add both keys to "
                f"PackDetInputs' meta_keys", StatusFallbackWarning, stacklevel=3)
        if self.class_agnostic:
            return image_partial_flags(batch_img_metas, batch_gt_instances, device).view(-1, 1)
        return image_class_status(batch_img_metas, batch_gt_instances, self.status_num_classes,
                                  device)

    def batch_population_losses(self) -> List[nn.Module]:
        """The status losses computing their statistic over the batch (``'batch'``)."""
        return [loss for loss in self.status_taking_losses()
                if population_of(loss) == 'batch']

    @contextmanager
    def batch_status(self, batch_img_metas: Sequence[dict],
                     batch_gt_instances: InstanceList) -> Iterator[None]:
        """Within the block, :meth:`rows_from_images` indexes this batch's status.

        A ``'batch'`` population loss may be called once in the block (that call is the
        batch); a head calling it more often wraps its stock method in
        :meth:`with_batch_status`. Nothing is computed when no status loss takes ``partial``.
        """
        if not self.status_taking_losses():
            yield
            return
        self.current_status = self.annotation_status(batch_img_metas, batch_gt_instances,
                                                     torch.device('cpu'))
        batch_losses = self.batch_population_losses()
        for loss in batch_losses:
            loss.batch_state = BatchStatistic()
        try:
            yield
        finally:
            self.current_status = None
            for loss in batch_losses:
                loss.batch_state = None

    def gather_batch_statistics(self, stock_method, *args, **kwargs) -> None:
        """First pass for ``'batch'`` population losses: ``stock_method`` without gradient,
        each such loss summing its calls' statistic, the others skipped, and the random
        state restored afterwards (samplers draw the same rows in the second pass)."""
        losses = self.status_taking_losses()
        states = [BatchStatistic(gathering=True) for _ in losses]
        for loss, state in zip(losses, states):
            loss.batch_state = state
        cpu_rng = torch.get_rng_state()
        cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        try:
            with torch.no_grad():
                stock_method(*args, **kwargs)
        finally:
            torch.set_rng_state(cpu_rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state_all(cuda_rng)
        for loss, state in zip(losses, states):
            loss.batch_state = None
            if population_of(loss) == 'batch':
                fixed = BatchStatistic()
                gathered = state.gathered()
                fixed.value = None if gathered is None else loss.reduce_statistics(gathered)
                loss.batch_state = fixed

    @staticmethod
    def metas_and_gt(stock_method, *args, **kwargs) -> Tuple[Sequence[dict], InstanceList]:
        """``batch_img_metas`` and ``batch_gt_instances`` of a call of ``stock_method``."""
        named = inspect.signature(stock_method).bind(*args, **kwargs).arguments
        return named['batch_img_metas'], named['batch_gt_instances']

    def with_batch_status(self, stock_method, *args, **kwargs):
        """``stock_method(*args, **kwargs)`` (a bound stock ``loss_by_feat``) in
        :meth:`batch_status`, the metainfo and ground truth taken from its own arguments.

        For a method that may call a status loss more than once: a ``'batch'`` population
        loss gets its statistic from a first pass (:meth:`gather_batch_statistics`).
        """
        with self.batch_status(*self.metas_and_gt(stock_method, *args, **kwargs)):
            if self.batch_population_losses():
                self.gather_batch_statistics(stock_method, *args, **kwargs)
            return stock_method(*args, **kwargs)

    def rows_partial(self, image_index: Tensor) -> Tensor:
        """The ``partial`` argument of a loss call whose row i comes from ``image_index[i]``.

        Raises:
            RuntimeError: Outside :meth:`batch_status`.
        """
        if self.current_status is None:
            raise RuntimeError(f'{type(self).__name__}: rows were named outside batch_status(); '
                               f'wrap the method that computes the targets in it')
        return rows_status(self.current_status, image_index)

    @contextmanager
    def rows_from_images(self, image_index: Tensor,
                         paths: Optional[Sequence[str]] = None,
                         level_index: Optional[Tensor] = None) -> Iterator[None]:
        """Within the block, each status loss call gets ``partial`` of these rows' images.

        Args:
            image_index (Tensor): (N,) int64 image (batch position) of each row of every
                status loss call made in the block.
            paths (Sequence[str], optional): The losses the rows are for (a cascade stage's);
                defaults to :attr:`status_losses`.
            level_index (Tensor, optional): (N,) int64 feature level of each row, given to
                losses with ``population='level'``; None where the rows have no level.

        Raises:
            RuntimeError: When a call's rows are not N.
            ValueError: For a ``population='level'`` loss where the head named no levels.
        """
        losses = self.status_taking_losses(paths)
        if not losses:
            yield
            return
        partial = self.rows_partial(image_index)
        head = type(self).__name__

        def give_status(module: nn.Module, args: tuple, kwargs: dict) -> tuple:
            pred = args[0] if args else kwargs['pred']
            if pred.size(0) != partial.size(0):
                raise RuntimeError(f'{head}: a {type(module).__name__} call of {pred.size(0)} '
                                   f'rows, but the head named the images of '
                                   f'{partial.size(0)} rows')
            given = dict(kwargs, partial=partial.to(pred.device))
            if population_of(module) == 'level':
                if level_index is None:
                    raise ValueError(f"{head}: {type(module).__name__}(population='level') "
                                     f'needs the feature level of each row, and the rows of '
                                     f"this head have none; use population='call' or "
                                     f"'batch'")
                given['population_index'] = level_index.to(pred.device)
            return args, given

        with ExitStack() as stack:
            for loss in losses:
                stack.callback(loss.register_forward_pre_hook(give_status,
                                                              with_kwargs=True).remove)
            yield
