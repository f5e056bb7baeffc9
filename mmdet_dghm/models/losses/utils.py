"""Input handling shared by the sigmoid classification losses of this package.

mmdet's dense heads hand a sigmoid classification loss ``pred`` (N, C) logits, ``target``
either (N,) class indices with background = C or (N, C) binary, and a label weight (N,) or
(N, C). These functions turn both forms into (N, C) tensors and reject anything else with a
``ValueError`` naming the argument, instead of the silent broadcasting or ``assert`` of mmdet.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

REDUCTIONS = ('none', 'mean', 'sum')


def check_logits(pred: Tensor, loss_name: str) -> None:
    """Raise ``ValueError`` unless ``pred`` is a floating (N, C) tensor."""
    if pred.dim() != 2 or not pred.is_floating_point():
        raise ValueError(f'{loss_name}: pred must be floating (N, C) logits, got dtype '
                         f'{pred.dtype} and shape {tuple(pred.shape)}')


def binary_target(pred: Tensor, target: Tensor, loss_name: str) -> Tensor:
    """The (N, C) binary target of a sigmoid classifier, as ``pred``'s float32 counterpart.

    Args:
        pred (Tensor): (N, C) logits; only its shape and device are used.
        target (Tensor): (N,) integer class indices in [0, C] with C = background, or (N, C)
            with every value 0 or 1.
        loss_name (str): Class name used in error messages.

    Returns:
        Tensor: (N, C) float32 tensor of zeros and ones.

    Raises:
        ValueError: If the shape does not match ``pred``, indices are not integers, or labels
            are outside [0, C] (index form) or {0, 1} (binary form).
    """
    num, num_classes = pred.shape
    if target.dim() == 1:
        if target.numel() != num:
            raise ValueError(f'{loss_name}: target has {target.numel()} labels for {num} '
                             f'predictions')
        if target.is_floating_point() or target.dtype == torch.bool:
            raise ValueError(f'{loss_name}: (N,) target must hold integer class indices, got '
                             f'{target.dtype}')
        if target.numel():
            low, high = torch.aminmax(target)
            if bool((low < 0) | (high > num_classes)):  # one host sync, not two
                raise ValueError(f'{loss_name}: target labels must lie in [0, {num_classes}] '
                                 f'({num_classes} = background), got [{int(low)}, {int(high)}]')
        classes = torch.arange(num_classes, device=target.device, dtype=target.dtype)
        # The background index C matches no column, giving an all-zero row.
        return (target.view(-1, 1) == classes).to(torch.float32)
    if target.shape != pred.shape:
        raise ValueError(f"{loss_name}: target shape {tuple(target.shape)} matches neither "
                         f"(N,) = ({num},) nor pred's {tuple(pred.shape)}")
    if bool(((target != 0) & (target != 1)).any()):
        raise ValueError(f'{loss_name}: (N, C) target must be binary (only 0 and 1)')
    return target.to(torch.float32)


def soft_target(pred: Tensor, target: tuple, loss_name: str) -> Tensor:
    """The (N, C) soft target of RTMDet's ``(labels, scores)`` form (``QualityFocalLoss``).

    Row i holds ``scores[i]`` (the IoU-aware quality, in [0, 1]) at column ``labels[i]`` and 0
    elsewhere; background rows (label C) are all zero.

    Args:
        pred (Tensor): (N, C) logits; only its shape and device are used.
        target (tuple[Tensor, Tensor]): (N,) integer labels in [0, C] and (N,) scores.
        loss_name (str): Class name used in error messages.

    Returns:
        Tensor: (N, C) float32.

    Raises:
        ValueError: For a malformed pair, or scores outside [0, 1].
    """
    if len(target) != 2:
        raise ValueError(f'{loss_name}: a soft target is a (labels, scores) pair, got '
                         f'{len(target)} items')
    labels, scores = target
    dense = binary_target(pred, labels, loss_name)
    if scores.shape != labels.shape or not scores.is_floating_point():
        raise ValueError(f'{loss_name}: soft target scores must be floating and shaped like '
                         f'the labels {tuple(labels.shape)}, got {scores.dtype} '
                         f'{tuple(scores.shape)}')
    if bool(((scores < 0) | (scores > 1)).any()):
        raise ValueError(f'{loss_name}: soft target scores must lie in [0, 1]')
    return dense.mul_(scores.to(torch.float32).view(-1, 1))


def classification_target(pred: Tensor, target, loss_name: str, soft: bool) -> Tensor:
    """The (N, C) float32 target: :func:`binary_target`, or :func:`soft_target` for a pair.

    Args:
        pred (Tensor): (N, C) logits.
        target (Tensor | tuple): (N,) labels, (N, C) binary, or RTMDet's (labels, scores).
        loss_name (str): Class name used in error messages.
        soft (bool): Whether the loss defines soft targets.

    Raises:
        ValueError: For a soft target given to a loss that does not define it, naming the
            loss that does.
    """
    if not isinstance(target, (tuple, list)):
        return binary_target(pred, target, loss_name)
    if not soft:
        raise ValueError(f"{loss_name}: got RTMDet's (labels, scores) soft targets "
                         f'(QualityFocalLoss), which {loss_name} does not define; DGHMCLoss '
                         f'takes them (its gradient norm |p - t| and BCE extend to a soft t), '
                         f'or give the head a loss with binary targets')
    return soft_target(pred, target, loss_name)


def label_weight(pred: Tensor, weight: Optional[Tensor], loss_name: str) -> Tensor:
    """The label weight as a float32 tensor broadcastable to ``pred``: (N, 1) or (N, C).

    Args:
        pred (Tensor): (N, C) logits.
        weight (Tensor, optional): (N,) per-anchor or (N, C) per-element weights; 0 marks an
            ignored element. None means every element has weight 1.
        loss_name (str): Class name used in error messages.

    Returns:
        Tensor: Float32 weights of shape (N, 1) or (N, C).

    Raises:
        ValueError: If the shape is neither (N,) nor (N, C).
    """
    if weight is None:
        return pred.new_ones(pred.size(0), 1, dtype=torch.float32)
    if weight.dim() == 1 and weight.numel() == pred.size(0):
        return weight.to(torch.float32).view(-1, 1)
    if weight.shape == pred.shape:
        return weight.to(torch.float32)
    raise ValueError(f"{loss_name}: weight shape {tuple(weight.shape)} is neither "
                     f"({pred.size(0)},) nor pred's {tuple(pred.shape)}")


def check_reduction(reduction: Optional[str], loss_name: str) -> None:
    """Raise ``ValueError`` unless ``reduction`` is None, 'none', 'mean' or 'sum'."""
    if reduction is not None and reduction not in REDUCTIONS:
        raise ValueError(f'{loss_name}: reduction must be one of {REDUCTIONS}, got '
                         f'{reduction!r}')
