"""Partial annotation status of every classification element, from the batch to the loss.

The status keys, their validation and a batch's (B, C) status live in
:mod:`mmdet_dghm.structures.annotation_status`.

:class:`PartialAnnotationMixin` puts this status in front of a stock mmdet head: for the
duration of the head's ``loss_by_feat``, every call of a classification loss that declares
``partial`` (:func:`loss_accepts_partial`) receives the status of each of its rows, in the
head's own flattening order; any other loss runs the stock code untouched.
"""
import inspect
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator, List, NamedTuple, Optional, Sequence

import torch
import torch.nn as nn
from mmdet.models.dense_heads import ATSSHead, DINOHead, FCOSHead, RetinaHead, RPNHead
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


class StatusLayout(NamedTuple):
    """How a stock head lays out the rows of each classification loss call.

    Attributes:
        rows (str): ``'image_major'``: every call holds B equal consecutive blocks, one per
            image (one FPN level, one decoder layer, or the encoder's proposals);
            ``'level_major'``: one call over all levels, image-major within each level.
        class_agnostic (bool): One objectness output: a negative is noisy when its image has
            any partial label.
    """

    rows: str
    class_agnostic: bool = False


#: The stock heads the mechanism covers, with the layout of their classification loss calls.
SUPPORTED_HEADS = {
    RetinaHead: StatusLayout('image_major'),
    FCOSHead: StatusLayout('level_major'),
    ATSSHead: StatusLayout('image_major'),
    RPNHead: StatusLayout('image_major', class_agnostic=True),
    DINOHead: StatusLayout('image_major'),
}


def loss_accepts_partial(loss: nn.Module) -> bool:
    """Whether a loss module's (or loss class's) ``forward`` declares a ``partial`` argument.

    Only an explicitly named parameter counts: a ``**kwargs`` catch-all (mmdet's ``GHMC``,
    ``CrossEntropyLoss``) would swallow the mask silently or forward it somewhere that rejects it.

    Args:
        loss (nn.Module | type): A built classification loss, or its class.

    Returns:
        bool: True if ``loss.forward`` takes ``partial`` by name.
    """
    param = inspect.signature(loss.forward).parameters.get('partial')
    return param is not None and param.kind in (param.POSITIONAL_OR_KEYWORD,
                                                param.KEYWORD_ONLY)


def broadcast_to_anchors(status: Tensor, rows_per_image: Sequence[int]) -> List[Tensor]:
    """Give every row (anchor, point or query) of every group the status of its image.

    The order matches mmdet's flattened per-level targets: ``labels_list[l].reshape(-1)`` and
    ``cls_scores[l].permute(0, 2, 3, 1).reshape(-1, C)`` are image-major within level ``l``.

    Args:
        status (Tensor): (B,) or (B, C) bool status of each image.
        rows_per_image (Sequence[int]): Rows per image of each group (H_l * W_l * A).

    Returns:
        list[Tensor]: For each group, a (B * rows_per_image[l],) or (B * rows, C) tensor.
    """
    tail = status.shape[1:]
    return [status.unsqueeze(1).expand(-1, n, *tail).reshape(-1, *tail) for n in rows_per_image]


def image_major_status(status: Tensor, num_rows: int) -> Tensor:
    """Status of ``num_rows`` rows made of B equal consecutive blocks, one per image.

    Raises:
        RuntimeError: If ``num_rows`` is not a multiple of B.
    """
    num_imgs = status.size(0)
    if num_rows % num_imgs:
        raise RuntimeError(f'a classification loss call of {num_rows} rows cannot hold '
                           f'{num_imgs} equal image blocks')
    return broadcast_to_anchors(status, [num_rows // num_imgs])[0]


@contextmanager
def partial_bound(loss: nn.Module, rows_status: Callable[[int], Tensor]) -> Iterator[None]:
    """Within the block, each call ``loss(pred, ...)`` also gets ``partial=rows_status(N)``.

    ``N = pred.size(0)``; the call's other arguments pass through unchanged, so the head's
    stock code computes targets, weights and ``avg_factor`` exactly as it always does.

    Args:
        loss (nn.Module): A loss whose ``forward`` declares ``partial``.
        rows_status (Callable[[int], Tensor]): Status of a call's rows from their number.
    """
    stock_forward = loss.forward

    def forward(pred: Tensor, *args, **kwargs) -> Tensor:
        partial = rows_status(pred.size(0)).to(pred.device)
        return stock_forward(pred, *args, partial=partial, **kwargs)

    loss.forward = forward
    try:
        yield
    finally:
        del loss.forward


def stock_head(cls: type) -> type:
    """The nearest mmdet class among ``cls``'s bases, ``object`` where there is none.

    It is the head whose loss code runs for ``cls``.
    """
    return next((base for base in cls.__mro__ if base.__module__.startswith('mmdet.')), object)


def check_sigmoid_loss(head_name: str, loss_cfg: Optional[dict]) -> None:
    """Refuse a ``loss_cls`` config declaring ``partial`` without ``use_sigmoid=True``.

    mmdet's heads size their classification output from ``loss_cls['use_sigmoid']`` (C
    channels if True, C + 1 softmax channels otherwise, also when the key is missing), and
    the partial status is defined on per-class sigmoid outputs.

    Raises:
        ValueError: Naming the head, the loss and what is supported.
    """
    if not isinstance(loss_cfg, dict) or loss_cfg.get('use_sigmoid', False):
        return
    loss_type = loss_cfg.get('type')
    loss_cls = MODELS.get(loss_type) if isinstance(loss_type, str) else loss_type
    if isinstance(loss_cls, type) and loss_accepts_partial(loss_cls):
        raise ValueError(f'{head_name}: {loss_cls.__name__} needs a sigmoid classification '
                         f'output; set use_sigmoid=True in loss_cls (the head sizes its output '
                         f'from it). Softmax classification (use_sigmoid False or unset) is '
                         f'not supported')


class PartialAnnotationMixin:
    """Gives a stock mmdet head's classification loss the status of each of its elements.

    Put it first among the bases of a subclass of a head of :data:`SUPPORTED_HEADS`; the
    head's arguments, layers, targets, regression losses and predictions stay the stock
    ones. When the built ``loss_cls`` declares ``partial`` (``DGHMCLoss``), ``loss_by_feat``
    builds each image's status from its metainfo (:func:`image_class_status`, or
    :func:`image_partial_flags` for class-agnostic heads), compacts it
    (:func:`compact_status`) and runs the stock ``loss_by_feat`` with the loss bound to it
    (:func:`partial_bound`), each call getting its rows' status in the head's layout
    (:class:`StatusLayout`). Every other loss runs the stock ``loss_by_feat`` as is.

    Raises:
        TypeError: At class creation, if the stock head is not one of :data:`SUPPORTED_HEADS`.
        ValueError: At construction, if ``loss_cls`` declares ``partial`` and does not set
            ``use_sigmoid=True`` (the head would size a softmax output).
    """

    status_layout: StatusLayout

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        stock = stock_head(cls)
        if stock not in SUPPORTED_HEADS:
            supported = ', '.join(head.__name__ for head in SUPPORTED_HEADS)
            raise TypeError(f'{cls.__name__}: the partial annotation mechanism does not cover '
                            f"{stock.__name__}'s classification loss; supported heads: "
                            f'{supported}')
        cls.status_layout = SUPPORTED_HEADS[stock]

    def __init__(self, *args, **kwargs) -> None:
        check_sigmoid_loss(type(self).__name__, kwargs.get('loss_cls'))
        super().__init__(*args, **kwargs)
        self.loss_cls_takes_partial = loss_accepts_partial(self.loss_cls)
        self.warned_status_fallback = False

    def annotation_status(self, batch_img_metas: Sequence[dict],
                          batch_gt_instances: InstanceList, device: torch.device) -> Tensor:
        """(B,) or (B, C) status of a batch, (B,) for class-agnostic heads.

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
                f"PackDetInputs' meta_keys", StatusFallbackWarning, stacklevel=2)
        if self.status_layout.class_agnostic:
            return image_partial_flags(batch_img_metas, batch_gt_instances, device)
        return compact_status(
            image_class_status(batch_img_metas, batch_gt_instances, self.num_classes, device))

    def rows_status(self, status: Tensor, num_rows: int, cls_scores: Sequence[Tensor]) -> Tensor:
        """Status of the rows of one classification loss call, in the head's layout.

        Args:
            status (Tensor): (B,) or (B, C) status of each image.
            num_rows (int): Rows of the call.
            cls_scores (Sequence[Tensor]): The head's first ``loss_by_feat`` argument; for
                ``'level_major'`` heads, per level (B, A * C, H, W) scores.

        Returns:
            Tensor: (num_rows,) or (num_rows, C) bool.
        """
        if self.status_layout.rows == 'image_major':
            return image_major_status(status, num_rows)
        rows_per_image = [score[0].numel() // self.cls_out_channels for score in cls_scores]
        if num_rows != status.size(0) * sum(rows_per_image):
            raise RuntimeError(f'{type(self).__name__}: a classification loss call of '
                               f'{num_rows} rows does not hold all levels of all images')
        return torch.cat(broadcast_to_anchors(status, rows_per_image))

    def loss_by_feat(self, *args, **kwargs) -> dict:
        """The stock head's ``loss_by_feat``, the classification loss bound to the status.

        Arguments are those of the stock head's ``loss_by_feat``; ``batch_img_metas`` may
        hold ``partially_annotated`` and ``partial_labels``.
        """
        if not self.loss_cls_takes_partial:
            return super().loss_by_feat(*args, **kwargs)
        named = inspect.signature(super().loss_by_feat).bind(*args, **kwargs).arguments
        status = self.annotation_status(named['batch_img_metas'], named['batch_gt_instances'],
                                        torch.device('cpu'))
        cls_scores = args[0] if args else next(iter(named.values()))
        with partial_bound(self.loss_cls,
                           lambda num_rows: self.rows_status(status, num_rows, cls_scores)):
            return super().loss_by_feat(*args, **kwargs)
