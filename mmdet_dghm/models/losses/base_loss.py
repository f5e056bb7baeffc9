"""What the partial-annotation losses build on: the sigmoid CE or focal loss, and the adapter.

For an element with logit x, p = sigmoid(x) and binary label t, with p_t = p if t = 1 else
1 - p and alpha_t = alpha if t = 1 else 1 - alpha,

    CE(x, t)    = -log p_t,
    focal(x, t) = -alpha_t * (1 - p_t) ** gamma * log p_t,      Lin et al., ICCV 2017, eq. (5)

exactly as mmdet's ``CrossEntropyLoss(use_sigmoid=True)`` and ``FocalLoss`` (whose
``py_sigmoid_focal_loss`` writes ``pt`` for 1 - p_t). :class:`PartialSigmoidLoss` is the
registered losses' common adapter: mmdet's arguments in, the annotation status checked, the
weighted terms of a subclass reduced as mmdet's ``weight_reduce_loss`` does.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.losses.utils import weight_reduce_loss
from torch import Tensor

from ...structures.annotation_status import checked_partial
from .roi_classifier_form import RoIClassifierForm
from .statistic_population import BatchStatistic, check_population
from .utils import check_logits, check_reduction, classification_target, label_weight

#: The base losses a partial-annotation loss can be built on.
BASES = ('ce', 'focal')
#: mmdet's ``FocalLoss`` defaults.
FOCAL_GAMMA, FOCAL_ALPHA = 2.0, 0.25


def focal_term(pred: Tensor, target: Tensor, gamma, class_weight) -> Tensor:
    """Elementwise class_weight * |t - p| ** gamma * BCE(x, t): focal loss's shape.

    With binary t, |t - p| = 1 - p_t, and ``class_weight = alpha_t`` gives focal(x, t) of the
    module docstring; BRL's mirrored branch flips t and reweights.

    Args:
        pred (Tensor): Logits x.
        target (Tensor): Targets t (float), same shape.
        gamma (float | Tensor): Focusing parameter, a number or one per element.
        class_weight (float | Tensor): Weight of each element, broadcastable.

    Returns:
        Tensor: The term of every element, same shape as ``pred``.
    """
    ce = F.binary_cross_entropy_with_logits(pred, target, reduction='none')
    return ce * (target - pred.sigmoid()).abs().pow(gamma) * class_weight


def sigmoid_base_loss(pred: Tensor, target: Tensor, base: str = 'focal',
                      gamma: float = FOCAL_GAMMA, alpha: float = FOCAL_ALPHA) -> Tensor:
    """Elementwise CE(x, t) or focal(x, t) of the module docstring.

    Args:
        pred (Tensor): Logits x.
        target (Tensor): Binary labels t (float), same shape.
        base (str): ``'ce'`` or ``'focal'``. Defaults to ``'focal'``.
        gamma (float): Focusing parameter of the focal loss. Defaults to 2.0.
        alpha (float): Weight of the positive label in the focal loss (1 - alpha for the
            negative). Defaults to 0.25.

    Returns:
        Tensor: The loss of every element, same shape as ``pred``.
    """
    if base == 'ce':
        return F.binary_cross_entropy_with_logits(pred, target, reduction='none')
    return focal_term(pred, target, gamma, alpha * target + (1 - alpha) * (1 - target))


def sigmoid_base_terms(pred: Tensor, base: str = 'focal', gamma: float = FOCAL_GAMMA,
                       alpha: float = FOCAL_ALPHA) -> Tuple[Tensor, Tensor]:
    """The base loss of every element for both labels: (l(x, 1), l(x, 0)).

    Equal to :func:`sigmoid_base_loss` with an all-one and an all-zero target, from one
    sigmoid: CE is softplus(-x) and softplus(x), focal multiplies them by
    alpha * (1 - p) ** gamma and (1 - alpha) * p ** gamma.

    Args:
        pred (Tensor): Logits x.
        base (str): ``'ce'`` or ``'focal'``. Defaults to ``'focal'``.
        gamma (float): Focal focusing parameter. Defaults to 2.0.
        alpha (float): Focal weight of the positive label. Defaults to 0.25.

    Returns:
        tuple[Tensor, Tensor]: l(x, 1) and l(x, 0), each the shape of ``pred``.
    """
    loss_pos, loss_neg = F.softplus(-pred), F.softplus(pred)
    if base == 'ce':
        return loss_pos, loss_neg
    prob = pred.sigmoid()
    return (loss_pos * (1 - prob).pow(gamma) * alpha,
            loss_neg * prob.pow(gamma) * (1 - alpha))


def resolve_base(base: str, gamma: Optional[float], alpha: Optional[float],
                 loss_name: str) -> Tuple[float, float]:
    """The focal ``(gamma, alpha)`` of a loss built on ``base``, with mmdet's defaults.

    Args:
        base (str): ``'ce'`` or ``'focal'``.
        gamma (float, optional): None for mmdet's 2.0.
        alpha (float, optional): None for mmdet's 0.25.
        loss_name (str): Class name used in error messages.

    Returns:
        tuple[float, float]: gamma and alpha; for ``'ce'`` the unused defaults.

    Raises:
        ValueError: For an unknown base, gamma or alpha given with ``base='ce'`` (CE has
            neither: the setting would be silently ignored), gamma < 0 or alpha outside
            [0, 1].
    """
    if base not in BASES:
        raise ValueError(f'{loss_name}: base must be one of {BASES}, got {base!r}')
    if base == 'ce' and (gamma is not None or alpha is not None):
        raise ValueError(f"{loss_name}: gamma and alpha belong to base='focal'; base='ce' "
                         f'has neither (got gamma={gamma}, alpha={alpha})')
    gamma = FOCAL_GAMMA if gamma is None else gamma
    alpha = FOCAL_ALPHA if alpha is None else alpha
    if gamma < 0:
        raise ValueError(f'{loss_name}: gamma must be >= 0, got {gamma}')
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'{loss_name}: alpha must lie in [0, 1], got {alpha}')
    return float(gamma), float(alpha)


class PartialSigmoidLoss(RoIClassifierForm, nn.Module):
    """Base of the sigmoid classification losses that a Decoupled head feeds the status.

    It declares ``partial`` in :meth:`forward`, so every head of
    ``mmdet_dghm.models.dense_heads`` passes each element's annotation status. A subclass
    computes the weighted (N, C) terms in :meth:`weighted_terms`; ``'mean'`` divides their sum
    by ``avg_factor``, the head's normaliser used as given (the number of positives for
    RetinaNet, FCOS, ATSS and DINO, of sampled anchors for the RPN), or averages over the
    N * C elements without it, as mmdet's ``weight_reduce_loss``.

    Args:
        use_sigmoid (bool): Must be True.
        loss_weight (float): Scale of the loss.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        roi_classifier (bool): Expose mmdet's ``custom_cls_channels`` interface, the form an
            RoI box head trains (:mod:`.roi_classifier_form`). Defaults to False.
        population (str): The rows a statistic of the loss is computed over, ``'call'``,
            ``'level'`` or ``'batch'`` (:mod:`.statistic_population`), for a subclass with
            :attr:`has_statistic`. Defaults to ``'call'``.

    Raises:
        NotImplementedError: For ``use_sigmoid=False``.
        ValueError: For another reduction or population.
    """

    #: Whether the loss takes RTMDet's ``(labels, scores)`` soft targets.
    soft_targets = False
    #: Whether the weighted terms normalise themselves (DGHM-C's harmonizing weights):
    #: ``'mean'`` then sums them, as ``'sum'`` does, and ``avg_factor`` is not used.
    self_normalised = False
    #: Whether the terms depend on a statistic of the rows (DGHM-C's histogram, PU's prior):
    #: such a loss implements :meth:`statistics` and :meth:`terms_with_statistics` and takes
    #: the ``population`` option (:mod:`.statistic_population`).
    has_statistic = False

    def __init__(self, use_sigmoid: bool, loss_weight: float, reduction: str,
                 roi_classifier: bool = False, population: str = 'call') -> None:
        super().__init__()
        check_population(population, type(self).__name__)
        self.population = population
        #: Set by the head for one step (:class:`.BatchStatistic`), None outside it.
        self.batch_state: Optional[BatchStatistic] = None
        self.use_roi_classifier_form(roi_classifier)
        #: Whether :meth:`forward` requires ``partial``; if not, it validates a given one.
        self.status_required = True
        name = type(self).__name__
        if not use_sigmoid:
            raise NotImplementedError(f'{name}: only use_sigmoid=True is implemented; the '
                                      f'annotation status and this loss are defined on '
                                      f'per-class sigmoid outputs')
        check_reduction(reduction, name)
        self.use_sigmoid = use_sigmoid
        self.loss_weight = loss_weight
        self.reduction = reduction

    def weighted_terms(self, logits: Tensor, target: Tensor, weight: Tensor,
                       status: Optional[Tensor]) -> Tensor:
        """The (N, C) loss terms, label weights applied.

        Args:
            logits (Tensor): (N, C) float32 logits, N > 0.
            target (Tensor): (N, C) float32 binary labels (soft in [0, 1] where the loss
                takes :attr:`soft_targets`).
            weight (Tensor): (N, 1) or (N, C) float32 label weights; 0 ignores an element.
            status (Tensor, optional): (N, 1) or (N, C) bool status, None where not required
                and not given.
        """
        raise NotImplementedError

    def statistics(self, logits: Tensor, target: Tensor, weight: Tensor,
                   status: Optional[Tensor], index: Optional[Tensor], size: int) -> Tensor:
        """(size, ...) sums of the statistic over the rows of each population.

        Args:
            logits, target, weight, status: As in :meth:`weighted_terms`.
            index (Tensor, optional): (N,) int64 population of each row; None: one.
            size (int): Number of populations.
        """
        raise NotImplementedError

    def terms_with_statistics(self, logits: Tensor, target: Tensor, weight: Tensor,
                              status: Optional[Tensor], statistics: Tensor,
                              index: Optional[Tensor]) -> Tensor:
        """The (N, C) terms, each row with the statistic of its population.

        Args:
            logits, target, weight, status: As in :meth:`weighted_terms`.
            statistics (Tensor): (P, ...) from :meth:`statistics` (summed over ranks or
                calls where the population spans them).
            index (Tensor, optional): (N,) int64 population of each row; None: population 0.
        """
        raise NotImplementedError

    def reduce_statistics(self, statistics: Tensor) -> Tensor:
        """The statistic of the global batch under DDP where the loss syncs; as given here."""
        return statistics

    def population_terms(self, logits: Tensor, target: Tensor, weight: Tensor,
                         status: Optional[Tensor],
                         population_index: Optional[Tensor]) -> Optional[Tensor]:
        """The (N, C) terms with the statistic over :attr:`population`; None on a gathering
        pass (the call's loss is zero).

        Raises:
            ValueError: For ``'level'`` without the rows' levels.
            RuntimeError: For ``'batch'`` outside a head's step, or called twice in a step
                whose head did not gather.
        """
        name = type(self).__name__
        state = self.batch_state
        if state is not None and state.gathering:
            if self.population == 'batch':
                state.parts.append(self.statistics(logits, target, weight, status, None, 1))
            return None
        if self.population == 'call' or not self.has_statistic:
            return self.weighted_terms(logits, target, weight, status)
        index, size = None, 1
        if self.population == 'level':
            if population_index is None:
                raise ValueError(f"{name}: population='level' needs the feature level of each "
                                 f'row, and the caller named none')
            index = population_index.to(logits.device)
            size = int(index.max()) + 1 if index.numel() else 1
        elif state is None:
            raise RuntimeError(f"{name}: population='batch' is computed by a status-aware head "
                               f"over its step's calls; this call came from outside one")
        elif state.value is not None:
            return self.terms_with_statistics(logits, target, weight, status, state.value,
                                              None)
        else:
            state.calls += 1
            if state.calls > 1:
                raise RuntimeError(f"{name}: population='batch' called twice in one step by a "
                                   f'head that did not gather the statistic first')
        statistics = self.reduce_statistics(
            self.statistics(logits, target, weight, status, index, size))
        return self.terms_with_statistics(logits, target, weight, status, statistics, index)

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                partial: Optional[Tensor] = None,
                population_index: Optional[Tensor] = None) -> Tensor:
        """Compute the loss times ``loss_weight``.

        Args:
            pred (Tensor): (N, C) logits. Half inputs are computed in float32.
            target (Tensor | tuple): (N,) class indices with background = C, (N, C) binary,
                or RTMDet's (labels, scores) where the loss takes :attr:`soft_targets`.
            weight (Tensor, optional): (N,) or (N, C) label weights; 0 ignores an element.
                Defaults to None.
            avg_factor (float, optional): Divisor of the summed loss for ``'mean'`` (unused
                by a :attr:`self_normalised` loss). Defaults to None.
            reduction_override (str, optional): ``'none'``, ``'mean'`` or ``'sum'``.
            partial (Tensor, optional): (N,) or (N, C) bool status, True where the class
                (every class, for (N,)) is partially annotated in the prediction's image:
                the negative of such an element is noisy. The status-aware heads supply it.
                Required unless :attr:`status_required` is False, and then validated if
                given.
            population_index (Tensor, optional): (N,) int64 feature level of each row, for
                ``population='level'``; the status-aware heads supply it.

        Returns:
            Tensor: float32 scalar, or (N, C) terms for reduction ``'none'``.

        Raises:
            ValueError: For a missing or malformed ``partial``, or inputs of the wrong shape
                or type.
        """
        name = type(self).__name__
        check_reduction(reduction_override, name)
        reduction = reduction_override or self.reduction
        check_logits(pred, name)
        status = checked_partial(pred, partial, name) \
            if self.status_required or partial is not None else None
        binary = classification_target(pred, target, name, soft=self.soft_targets)
        lw = label_weight(pred, weight, name)
        if pred.numel() == 0:
            return pred.float() * 0 if reduction == 'none' else pred.sum().float() * 0
        terms = self.population_terms(pred.float(), binary, lw, status, population_index)
        if terms is None:
            return pred.float() * 0 if reduction == 'none' else pred.sum().float() * 0
        if self.self_normalised and reduction == 'mean':
            reduction, avg_factor = 'sum', None
        return self.loss_weight * weight_reduce_loss(terms, None, reduction, avg_factor)
