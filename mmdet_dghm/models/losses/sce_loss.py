"""Symmetric cross entropy (SCE), sigmoid form: the baseline of the paper's eq. (8).

Wang et al., "Symmetric Cross Entropy for Robust Learning with Noisy Labels", ICCV 2019.
Per element, with p = sigmoid(x) and binary label t,

    L = alpha * CE(t, p) + beta * RCE,   RCE = -[p log t + (1 - p) log(1 - t)],

where the reverse cross entropy swaps prediction and label and log 0 is clamped to A (-4 in
Wang et al.). For a binary label RCE reduces to -A * |p - t|.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS
from torch import Tensor

from .utils import binary_target, check_logits, check_reduction, label_weight


def reverse_cross_entropy(pred: Tensor, target: Tensor, log_clamp: float = -4.0) -> Tensor:
    """Elementwise reverse BCE -[p log t + (1 - p) log(1 - t)] with log clamped below at A.

    Args:
        pred (Tensor): Logits x; p = sigmoid(x).
        target (Tensor): Labels t in [0, 1], same shape.
        log_clamp (float): A, the value log 0 is clamped to. Defaults to -4.0.

    Returns:
        Tensor: Elementwise reverse cross entropy.
    """
    prob = pred.sigmoid()
    log_t = torch.log(target).clamp(min=log_clamp)
    log_not_t = torch.log1p(-target).clamp(min=log_clamp)
    return -(prob * log_t + (1 - prob) * log_not_t)


def symmetric_cross_entropy(pred: Tensor, target: Tensor, alpha: float = 0.01,
                            beta: float = 1.0, log_clamp: float = -4.0) -> Tensor:
    """Elementwise SCE of eq. (8): alpha * BCE(x, t) + beta * RCE(x, t).

    Args:
        pred (Tensor): Logits.
        target (Tensor): Labels in [0, 1], same shape.
        alpha (float): Weight of the cross entropy. Defaults to 0.01.
        beta (float): Weight of the reverse cross entropy. Defaults to 1.0.
        log_clamp (float): A, the value log 0 is clamped to. Defaults to -4.0.

    Returns:
        Tensor: Elementwise loss.
    """
    ce = F.binary_cross_entropy_with_logits(pred, target, reduction='none')
    return alpha * ce + beta * reverse_cross_entropy(pred, target, log_clamp)


@MODELS.register_module()
class SymmetricCELoss(nn.Module):
    """Sigmoid symmetric cross entropy loss (paper eq. 8; Wang et al. 2019).

    Args:
        use_sigmoid (bool): Must be True (per-class sigmoid form). Defaults to True.
        alpha (float): alpha_SCE, weight of the cross entropy. Defaults to 0.01 (the paper).
        beta (float): beta_SCE, weight of the reverse cross entropy. Defaults to 1.0.
        log_clamp (float): A, the value log 0 is clamped to. Defaults to -4.0.
        loss_weight (float): Scale of the loss. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
    """

    def __init__(self,
                 use_sigmoid: bool = True,
                 alpha: float = 0.01,
                 beta: float = 1.0,
                 log_clamp: float = -4.0,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        name = type(self).__name__
        if not use_sigmoid:
            raise NotImplementedError(f'{name}: only use_sigmoid=True is implemented')
        if alpha < 0 or beta < 0:
            raise ValueError(f'{name}: alpha and beta must be >= 0, got {alpha} and {beta}')
        if log_clamp >= 0:
            raise ValueError(f'{name}: log_clamp must be < 0 (it replaces log 0), got '
                             f'{log_clamp}')
        check_reduction(reduction, name)
        self.use_sigmoid = use_sigmoid
        self.alpha = alpha
        self.beta = beta
        self.log_clamp = log_clamp
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): (N, C) logits. Half inputs are computed in float32.
            target (Tensor): (N,) class indices with background = C, or (N, C) binary.
            weight (Tensor, optional): (N,) or (N, C) element weights. Defaults to None.
            avg_factor (float, optional): Divisor of the summed loss for ``'mean'``, as in
                mmdet's ``weight_reduce_loss``. Defaults to None (mean over elements).
            reduction_override (str, optional): ``'none'``, ``'mean'`` or ``'sum'``.

        Returns:
            Tensor: float32 scalar, or (N, C) for reduction ``'none'``.
        """
        name = type(self).__name__
        check_reduction(reduction_override, name)
        reduction = reduction_override or self.reduction
        check_logits(pred, name)
        binary = binary_target(pred, target, name)
        lw = None if weight is None else label_weight(pred, weight, name)
        loss = symmetric_cross_entropy(pred.float(), binary, self.alpha, self.beta,
                                       self.log_clamp)
        return self.loss_weight * weight_reduce_loss(loss, lw, reduction, avg_factor)
