"""Annotation status: the two metainfo keys, their validation, and a batch's (B, C) status.

Paper section 3.1, generalised from images to image-class pairs: an element (prediction i,
class c) of a classification loss is a *noisy* negative when class c is not exhaustively
annotated in the image of prediction i, and *clean* otherwise; positives are always clean.

The datasets write an image's status into two metainfo keys, and the heads read them back:

- ``partially_annotated`` (bool): every class of the image is partial;
- ``partial_labels`` (sequence of int): the 0-based labels (the dataset's class order) that
  are partial in this image; empty means none.

A class is partial when either key says so. Where neither key is present, an image with at
least one ground-truth box is taken as partially annotated (every class) and a box-less image
as exhaustively annotated; datasets with partial annotation should set a key explicitly,
because a crop of a partially annotated image may hold no box. A head that meets a batch
without either key warns once (:class:`StatusFallbackWarning`): the fallback is intended for
stock datasets such as ``CocoDataset``, and a sign of dropped ``meta_keys`` anywhere else.

A status-aware loss receives the status of each of its rows, ``partial``: (N,) for a
prediction's whole image or (N, C) per class, checked by :func:`checked_partial`. This module is
the one place that defines the keys and both validations; datasets and models import it.
"""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.utils import InstanceList
from torch import Tensor

PARTIAL_KEY = 'partially_annotated'
PARTIAL_LABELS_KEY = 'partial_labels'
#: Both status keys, as the partial-annotation datasets write them.
STATUS_KEYS = (PARTIAL_KEY, PARTIAL_LABELS_KEY)


class StatusFallbackWarning(UserWarning):
    """A Decoupled head trains on images without annotation status (the has-a-box fallback)."""


def has_status(batch_img_metas: Sequence[dict]) -> bool:
    """Whether any image of the batch carries ``partially_annotated`` or ``partial_labels``."""
    return any(PARTIAL_KEY in meta or PARTIAL_LABELS_KEY in meta for meta in batch_img_metas)


def image_name(img_meta: dict) -> str:
    """``img_path`` and ``img_id`` of an image where its metainfo has them, for messages."""
    known = [f'{key}={img_meta[key]!r}' for key in ('img_path', 'img_id') if key in img_meta]
    return ', '.join(known) or 'without img_path or img_id'


def read_partial_labels(img_meta: dict, num_classes: Optional[int]) -> Tuple[int, ...]:
    """The validated ``partial_labels`` of one image; empty where the key is absent.

    Args:
        img_meta (dict): Meta information of the image.
        num_classes (int, optional): C; labels must lie in [0, C - 1]. None (class-agnostic
            heads, which do not know the dataset's classes) only requires labels >= 0.

    Returns:
        tuple[int]: The partial labels.

    Raises:
        TypeError: If the value is not a sequence of integers.
        ValueError: If a label is out of range.
    """
    value = img_meta.get(PARTIAL_LABELS_KEY, ())
    where = f"img_meta['{PARTIAL_LABELS_KEY}'] of image {image_name(img_meta)}"
    items = value.tolist() if isinstance(value, (np.ndarray, Tensor)) else value
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError(f'{where} must be a sequence of int, got {type(value).__name__} '
                        f'({value!r})')
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
            raise TypeError(f'{where} must hold int labels, got {type(item).__name__} '
                            f'({item!r}) in {value!r}')
        if item < 0 or (num_classes is not None and item >= num_classes):
            upper = '' if num_classes is None else f', {num_classes - 1}'
            raise ValueError(f'{where}: label {item} is outside [0{upper}] in {value!r}')
    return tuple(int(item) for item in items)


def read_partially_annotated(img_meta: dict, num_gt: int) -> bool:
    """Whether every class of one image is partial, with the fallback of the module doc.

    Args:
        img_meta (dict): Meta information of the image.
        num_gt (int): Number of ground-truth boxes of the image.

    Returns:
        bool: ``img_meta['partially_annotated']``; where neither status key is present,
        whether the image has a box; where only ``partial_labels`` is present, False.

    Raises:
        TypeError: If the value is not a bool.
    """
    if PARTIAL_KEY not in img_meta:
        return PARTIAL_LABELS_KEY not in img_meta and num_gt > 0
    value = img_meta[PARTIAL_KEY]
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"img_meta['{PARTIAL_KEY}'] must be a bool, got "
                        f'{type(value).__name__} ({value!r}) for image {image_name(img_meta)}')
    return bool(value)


def image_class_status(batch_img_metas: Sequence[dict], batch_gt_instances: InstanceList,
                       num_classes: int, device: torch.device) -> Tensor:
    """(B, C) status of a batch: True where class c is partially annotated in image b.

    Args:
        batch_img_metas (Sequence[dict]): Meta information of each image.
        batch_gt_instances (list[InstanceData]): Ground truth of each image.
        num_classes (int): C.
        device (torch.device): Device of the returned tensor.

    Returns:
        Tensor: (B, C) bool.
    """
    status = torch.zeros(len(batch_img_metas), num_classes, dtype=torch.bool)
    for row, img_meta, gt_instances in zip(status, batch_img_metas, batch_gt_instances):
        row[torch.tensor(read_partial_labels(img_meta, num_classes), dtype=torch.long)] = True
        row |= read_partially_annotated(img_meta, len(gt_instances))
    return status.to(device)


def image_partial_flags(batch_img_metas: Sequence[dict], batch_gt_instances: InstanceList,
                        device: torch.device) -> Tensor:
    """(B,) status for a class-agnostic head: True where the image has any partial label.

    Args:
        batch_img_metas (Sequence[dict]): Meta information of each image.
        batch_gt_instances (list[InstanceData]): Ground truth of each image.
        device (torch.device): Device of the returned tensor.

    Returns:
        Tensor: (B,) bool.
    """
    flags = [read_partially_annotated(img_meta, len(gt_instances))
             or len(read_partial_labels(img_meta, None)) > 0
             for img_meta, gt_instances in zip(batch_img_metas, batch_gt_instances)]
    return torch.tensor(flags, dtype=torch.bool, device=device)


def compact_status(status: Tensor) -> Tensor:
    """(B, C) status as (B,) when each image is all-partial or all-exhaustive, else as is.

    The loss treats a (N,) mask as its (N, C) broadcast, so this changes no value; it keeps
    image-wise datasets on one byte per prediction instead of one per element.
    """
    uniform = bool((status.all(1) | ~status.any(1)).all())
    return status[:, 0] if uniform else status


def checked_partial(pred: Tensor, partial: Optional[Tensor], loss_name: str) -> Tensor:
    """The status a loss received for its rows, as a bool tensor broadcastable to ``pred``.

    Args:
        pred (Tensor): (N, C) logits.
        partial (Tensor, optional): (N,) bool, True where every class of the prediction's
            image is partially annotated, or (N, C) bool, True where class c is partially
            annotated in the image of prediction i: the negative of such an element is
            noisy.
        loss_name (str): Class name used in error messages.

    Returns:
        Tensor: (N, 1) or (N, C) bool.

    Raises:
        ValueError: If ``partial`` is missing, not bool, or of another shape.
    """
    if partial is None:
        raise ValueError(f'{loss_name}: `partial` (N,) or (N, C) bool is required to tell noisy '
                         f'from clean negatives; train it under a status-aware head (the '
                         f'Decoupled heads of mmdet_dghm.models), which gives every loss call '
                         f"the status of its rows from each image's `{PARTIAL_KEY}` / "
                         f'`{PARTIAL_LABELS_KEY}` metainfo')
    num, num_classes = pred.shape
    if partial.shape not in ((num, ), (num, num_classes)):
        raise ValueError(f'{loss_name}: partial must have shape ({num},) or ({num}, '
                         f'{num_classes}), got {tuple(partial.shape)}')
    if partial.dtype != torch.bool:
        raise ValueError(f'{loss_name}: partial must be a bool tensor, got {partial.dtype}')
    return partial.view(-1, 1) if partial.dim() == 1 else partial
