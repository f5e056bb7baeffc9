"""Clean-only: the base loss without the noisy negatives, the baseline of the paper's section 3.3.

Lin et al., "Decoupled Gradient Harmonized Detector for Partial Annotation: Application to
Signet Ring Cell Detection", Neurocomputing 2020, section 3.3: "Intuitively, we can train a
model with only clean examples. However, experimental results suffer from high false positive
rate", the model never seeing the background of partially annotated images. With the noisy
negatives S_n = {(i, c) | t_ic = 0 and class c partial in the image of i} (section 3.1),

    L = sum over (i, c) not in S_n of w_ic * l(x_ic, t_ic),

l being the sigmoid CE or focal loss (:mod:`.base_loss`) and w the head's label weight. Every
other element keeps exactly its base-loss term and gradient, so a comparison with the base loss
isolates the effect of dropping S_n.
"""
from __future__ import annotations

from typing import Optional

from mmdet.registry import MODELS
from torch import Tensor

from .base_loss import FOCAL_ALPHA, FOCAL_GAMMA, PartialSigmoidLoss, resolve_base, sigmoid_base_loss


def noisy_negatives(target: Tensor, partial: Tensor) -> Tensor:
    """S_n of section 3.1: negatives whose class is partially annotated in their image.

    Args:
        target (Tensor): (N, C) binary labels.
        partial (Tensor): (N, 1) or (N, C) bool status.

    Returns:
        Tensor: (N, C) bool.
    """
    return (target == 0) & partial


def clean_only_loss(pred: Tensor, target: Tensor, partial: Tensor, base: str = 'focal',
                    gamma: float = FOCAL_GAMMA, alpha: float = FOCAL_ALPHA) -> Tensor:
    """Elementwise base loss l(x, t), 0 on the noisy negatives (module docstring).

    Args:
        pred (Tensor): (N, C) logits.
        target (Tensor): (N, C) binary labels (float).
        partial (Tensor): (N, 1) or (N, C) bool status.
        base (str): ``'ce'`` or ``'focal'``. Defaults to ``'focal'``.
        gamma (float): Focal focusing parameter. Defaults to 2.0.
        alpha (float): Focal weight of positives. Defaults to 0.25.

    Returns:
        Tensor: (N, C) loss terms.
    """
    loss = sigmoid_base_loss(pred, target, base, gamma, alpha)
    return loss.masked_fill(noisy_negatives(target, partial), 0.0)


@MODELS.register_module()
class CleanOnlyLoss(PartialSigmoidLoss):
    """The base CE or focal loss on clean elements only (paper section 3.3).

    ``avg_factor`` is the base loss's (see :class:`.PartialSigmoidLoss`): dropping the noisy
    negatives removes their terms and keeps the divisor, so every clean element's term and
    gradient equal those of the base loss. Likewise ``'mean'`` without ``avg_factor``
    averages over all N * C elements, as mmdet's ``weight_reduce_loss`` does.

    Args:
        use_sigmoid (bool): Must be True (the status is defined on per-class sigmoid
            outputs). Defaults to True.
        base (str): ``'focal'`` (mmdet's ``FocalLoss``) or ``'ce'`` (mmdet's sigmoid
            ``CrossEntropyLoss``). Defaults to ``'focal'``.
        gamma (float, optional): Focal focusing parameter; only with ``base='focal'``.
            Defaults to None (2.0).
        alpha (float, optional): Focal weight of positives; only with ``base='focal'``.
            Defaults to None (0.25).
        loss_weight (float): Scale of the loss. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        roi_classifier (bool): The form an RoI box head trains (C sigmoid channels through
            mmdet's ``custom_cls_channels``, :mod:`.roi_classifier_form`). Defaults to False.
    """

    def __init__(self,
                 use_sigmoid: bool = True,
                 base: str = 'focal',
                 gamma: Optional[float] = None,
                 alpha: Optional[float] = None,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 roi_classifier: bool = False) -> None:
        super().__init__(use_sigmoid, loss_weight, reduction, roi_classifier)
        self.gamma, self.alpha = resolve_base(base, gamma, alpha, type(self).__name__)
        self.base = base

    def weighted_terms(self, logits: Tensor, target: Tensor, weight: Tensor,
                       status: Optional[Tensor]) -> Tensor:
        """w * l(x, t), 0 on the noisy negatives (:func:`clean_only_loss`)."""
        return clean_only_loss(logits, target, status, self.base, self.gamma,
                               self.alpha).mul_(weight)
