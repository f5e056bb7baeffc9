"""Non-negative positive-unlabeled (nnPU) and PNU risk for dense sigmoid classification.

PU learning for cells with incomplete annotations: Zhao, Pang, Liu, Ye, "Positive-unlabeled
learning for cell detection in histopathology images with incomplete annotations", MICCAI 2021
(binary and multi-class: Zhao et al., MELBA 2023); the non-negative risk of Kiryo, Niu,
du Plessis, Sugiyama, "Positive-Unlabeled Learning with Non-Negative Risk Estimator", NeurIPS
2017, eq. (6) and Algorithm 1.

Each class c is its own binary problem over the elements (i, c) of one loss call: P are the
labeled positives, U the unlabeled elements and N the true negatives. ``mode='pnu'`` takes U as
the noisy negatives (class c partial in i's image) and N as the other negatives, the clean
negatives of exhaustively annotated images that the status makes available; ``mode='pu'``, the
PU papers' setting, takes every negative as unlabeled (N empty). With label weights w, the base
loss l (CE or focal, :mod:`.base_loss`), l+ = l(x, 1), l- = l(x, 0), W_P = sum_P w,
W_U = sum_U w and the class prior pi (the fraction of true positives among U), the base loss
under complete labels is estimated, positives of U being distributed as P, by

    L_c = (1 + k) sum_P w l+ + max(0, r) + sum_N w l-,
    r   = sum_U w l- - k sum_P w l-,            k = pi * W_U / W_P,

Kiryo's pi E_P[l+] + max(0, E_U[l-] - pi E_P[l-]) over U scaled by its size W_U and added to the
supervised terms: the head's normaliser (``avg_factor``) then divides it like the base loss,
and pi = 0 gives the base loss exactly. A class without labeled positives in the call (W_P = 0)
has no estimate of E_P and keeps k = 0 (its unlabeled elements are negatives). The estimates
are per rank under DDP, over the rows the ``population`` option names
(:mod:`.statistic_population`): by default those of one loss call (all levels at once for
DecoupledRetinaHead and FCOS, one level for ATSS and the RPN, one decoder layer for DINO).

``correction='clip'`` minimises L_c as written (max(0, r) stops the gradient of r where it
is negative). ``correction='ascent'`` is Kiryo's Algorithm 1: where r / W_U < -beta the loss
value is (1 + k) sum_P w l+ - beta W_U + sum_N w l- and its gradient that of
-gamma r + sum_N w l- (a step of gradient ascent on r, the positive term's gradient dropped);
elsewhere L_c with r unclipped.

Setting the prior: pi is the fraction of truly positive elements among the unlabeled ones of
the class, at the head's anchor assignment. If a fraction m of the class's objects is
unannotated in the partially annotated images, their anchors number about m / (1 - m) times the
labeled positive anchors of those images, so pi = m / (1 - m) * n_P / n_U
(:func:`prior_from_missing_rate`) with n_P the labeled positive elements in partially
annotated images and n_U the unlabeled elements, both counted over the training set with the
head's assigner. ``missing_rate=m`` applies that formula to the counts of each loss call
instead, which follows the ratio as it changes between FPN levels, crops and batches. A head
whose sampler keeps a few hundred anchors per image, every labeled positive among them (the
RPN), hands the loss counts that overstate n_P / n_U by the ratio of the two sampling rates:
give it a fixed ``prior`` measured before sampling (``tools/pu_prior.py``,
:mod:`mmdet_dghm.apis.pu_prior`). Zhao et
al. tune the prior by grid search on a validation set; this pi is the share of positives among
the unlabeled elements, not among all of them (Kiryo's marginal prior pi_m over n elements
corresponds to pi = (pi_m * n - n_P) / n_U).

A wrong prior: too small, and the estimate tends to the base loss (every unlabeled element a
negative, missing objects suppressed); too large, and k grows, r is clipped to 0 sooner (the
unlabeled elements lose their loss, as in clean-only) while the labeled positives are weighted
(1 + k), so scores and false positives rise.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch
from mmdet.registry import MODELS
from torch import Tensor

from .base_loss import PartialSigmoidLoss, resolve_base, sigmoid_base_terms
from .statistic_population import population_sums

MODES = ('pu', 'pnu')
CORRECTIONS = ('clip', 'ascent')
PerClass = Union[float, Sequence[float]]


def prior_from_missing_rate(missing_rate: Union[float, Tensor], num_positive: Tensor,
                            num_unlabeled: Tensor) -> Tensor:
    """pi = m / (1 - m) * n_P / n_U, clamped to [0, 1]; 0 where n_U = 0.

    Args:
        missing_rate (float | Tensor): m in [0, 1), the fraction of objects left unannotated
            in partially annotated images (per class allowed).
        num_positive (Tensor): n_P, labeled positive elements in partially annotated images
            (weighted counts allowed), per class.
        num_unlabeled (Tensor): n_U, unlabeled elements, per class.

    Returns:
        Tensor: The prior of each class, float32.
    """
    num_positive = torch.as_tensor(num_positive, dtype=torch.float32)
    num_unlabeled = torch.as_tensor(num_unlabeled, dtype=torch.float32)
    odds = torch.as_tensor(missing_rate, dtype=torch.float32)
    odds = odds / (1 - odds)
    prior = odds * num_positive / num_unlabeled.clamp(min=torch.finfo(torch.float32).tiny)
    return torch.where(num_unlabeled > 0, prior, 0.0).clamp(0.0, 1.0)


def nnpu_loss(loss_pos: Tensor, loss_neg: Tensor, positive: Tensor, unlabeled: Tensor,
              negative: Tensor, weight: Tensor, prior: Tensor, correction: str = 'clip',
              nn_beta: float = 0.0, nn_gamma: float = 1.0) -> Tensor:
    """Per-element terms of L_c (module docstring), summing over each class to L_c.

    Element (i, c) of P carries w ((1 + k) l+ - k l-), of U w l- and of N w l-, the terms of
    r (those of U and the -k l- of P) multiplied by 0 where r is clipped. With
    ``'ascent'``, on classes where r / W_U < -beta the terms have the values of
    (1 + k) w l+ (P), -beta w (U) and w l- (N) and the gradients of -gamma times r's terms
    plus w l- (N).

    Args:
        loss_pos (Tensor): (N, C) l+ of every element.
        loss_neg (Tensor): (N, C) l- of every element.
        positive (Tensor): (N, C) bool, the labeled positives P.
        unlabeled (Tensor): (N, C) bool, U.
        negative (Tensor): (N, C) bool, the true negatives N.
        weight (Tensor): Label weights broadcastable to (N, C); 0 ignores an element.
        prior (Tensor): (C,) or scalar pi.
        correction (str): ``'clip'`` or ``'ascent'``. Defaults to ``'clip'``.
        nn_beta (float): Kiryo's beta (``'ascent'`` only). Defaults to 0.0.
        nn_gamma (float): Kiryo's gamma (``'ascent'`` only). Defaults to 1.0.

    Returns:
        Tensor: (N, C) terms.
    """
    w_pos = weight * positive
    w_unl = weight * unlabeled
    mass_pos, mass_unl = w_pos.sum(0), w_unl.sum(0)
    k = risk_scale(prior, mass_pos, mass_unl)
    risk = ((w_unl - k * w_pos) * loss_neg).detach().sum(0)
    return nnpu_terms(loss_pos, loss_neg, positive, unlabeled, negative, weight, k, risk,
                      mass_unl, correction, nn_beta, nn_gamma)


def risk_scale(prior: Tensor, mass_pos: Tensor, mass_unl: Tensor) -> Tensor:
    """k = pi * W_U / W_P, 0 where W_P = 0 (module docstring); shapes broadcast."""
    tiny = torch.finfo(torch.float32).tiny
    return torch.where(mass_pos > 0, prior * mass_unl / mass_pos.clamp(min=tiny), 0.0)


def nnpu_terms(loss_pos: Tensor, loss_neg: Tensor, positive: Tensor, unlabeled: Tensor,
               negative: Tensor, weight: Tensor, k: Tensor, risk: Tensor, mass_unl: Tensor,
               correction: str = 'clip', nn_beta: float = 0.0,
               nn_gamma: float = 1.0) -> Tensor:
    """:func:`nnpu_loss`'s terms given the statistics of each element's population.

    Args:
        loss_pos, loss_neg, positive, unlabeled, negative, weight: As in :func:`nnpu_loss`.
        k (Tensor): k of each element's class and population, broadcastable to (N, C).
        risk (Tensor): r of each element's class and population, broadcastable to (N, C).
        mass_unl (Tensor): W_U of each element's class and population, likewise.
        correction, nn_beta, nn_gamma: As in :func:`nnpu_loss`.

    Returns:
        Tensor: (N, C) terms.
    """
    w_pos = weight * positive
    w_unl = weight * unlabeled
    positive_terms = (1 + k) * w_pos * loss_pos
    risk_terms = (w_unl - k * w_pos) * loss_neg
    clean_terms = weight * negative * loss_neg
    if correction == 'clip':
        return positive_terms + risk_terms * (risk >= 0) + clean_terms
    ascend = (mass_unl > 0) & (risk < -nn_beta * mass_unl)
    value = positive_terms - nn_beta * w_unl + clean_terms
    grad = clean_terms - nn_gamma * risk_terms
    ascent_terms = grad + (value - grad).detach()
    return torch.where(ascend, ascent_terms, positive_terms + risk_terms + clean_terms)


def per_class(value: Optional[PerClass], name: str, upper: float, loss_name: str,
              closed: bool) -> Optional[Tensor]:
    """A float or per-class sequence as a float32 tensor in [0, upper] (or [0, upper))."""
    if value is None:
        return None
    tensor = torch.tensor(value, dtype=torch.float32)
    if tensor.dim() > 1 or tensor.numel() == 0:
        raise ValueError(f'{loss_name}: {name} must be a float or a sequence of one float per '
                         f'class, got {value!r}')
    above = tensor > upper if closed else tensor >= upper
    if bool((tensor < 0).any() | above.any() | tensor.isnan().any()):
        bound = ']' if closed else ')'
        raise ValueError(f'{loss_name}: {name} must lie in [0, {upper}{bound}, got {value!r}')
    return tensor


@MODELS.register_module()
class PULoss(PartialSigmoidLoss):
    """nnPU / PNU classification loss for partially annotated detection (module docstring).

    ``avg_factor`` is the base loss's (see :class:`.PartialSigmoidLoss`), dividing the
    estimated complete-label sum; ``'mean'`` without it averages over the N * C elements.
    ``partial`` is required unless ``mode='pu'`` with a fixed ``prior``, which does not use it.

    Args:
        use_sigmoid (bool): Must be True (per-class sigmoid outputs). Defaults to True.
        prior (float | Sequence[float], optional): pi in [0, 1], the fraction of true
            positives among the unlabeled elements, one for all classes or one per class.
            Exactly one of ``prior`` and ``missing_rate`` is required.
        missing_rate (float | Sequence[float], optional): m in [0, 1), the fraction of
            objects unannotated in partially annotated images; each call then uses
            pi = m / (1 - m) * (labeled positives in partially annotated images) / W_U.
        mode (str): ``'pnu'``: unlabeled = noisy negatives, clean negatives are negatives;
            ``'pu'``: every negative is unlabeled (the PU papers). Defaults to ``'pnu'``.
        correction (str): ``'clip'`` (max(0, r)) or ``'ascent'`` (Kiryo's Algorithm 1).
            Defaults to ``'clip'``.
        nn_beta (float): Kiryo's beta >= 0, the tolerated negative mean risk (``'ascent'``
            only). Defaults to 0.0.
        nn_gamma (float): Kiryo's gamma >= 0, the ascent step's scale (``'ascent'`` only).
            Defaults to 1.0.
        base (str): ``'focal'`` or ``'ce'``, the loss l. Defaults to ``'focal'``.
        gamma (float, optional): Focal focusing parameter; only with ``base='focal'``.
            Defaults to None (2.0).
        alpha (float, optional): Focal weight of positives; only with ``base='focal'``.
            Defaults to None (0.25).
        loss_weight (float): Scale of the loss. Defaults to 1.0.
        reduction (str): ``'none'`` (the per-element terms of :func:`nnpu_loss`), ``'mean'``
            or ``'sum'``. Defaults to ``'mean'``.
        roi_classifier (bool): The form an RoI box head trains (C sigmoid channels through
            mmdet's ``custom_cls_channels``, :mod:`.roi_classifier_form`). Defaults to False.
        population (str): The rows whose masses, prior (from ``missing_rate``) and risk each
            row's terms use: ``'call'``, ``'level'`` or ``'batch'``
            (:mod:`.statistic_population`). Defaults to ``'call'``.
    """

    has_statistic = True

    def __init__(self,
                 use_sigmoid: bool = True,
                 prior: Optional[PerClass] = None,
                 missing_rate: Optional[PerClass] = None,
                 mode: str = 'pnu',
                 correction: str = 'clip',
                 nn_beta: float = 0.0,
                 nn_gamma: float = 1.0,
                 base: str = 'focal',
                 gamma: Optional[float] = None,
                 alpha: Optional[float] = None,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 roi_classifier: bool = False,
                 population: str = 'call') -> None:
        super().__init__(use_sigmoid, loss_weight, reduction, roi_classifier, population)
        name = type(self).__name__
        if (prior is None) == (missing_rate is None):
            raise ValueError(f'{name}: give exactly one of prior and missing_rate, got '
                             f'prior={prior!r}, missing_rate={missing_rate!r}')
        if mode not in MODES:
            raise ValueError(f'{name}: mode must be one of {MODES}, got {mode!r}')
        if correction not in CORRECTIONS:
            raise ValueError(f'{name}: correction must be one of {CORRECTIONS}, got '
                             f'{correction!r}')
        if correction == 'clip' and (nn_beta != 0.0 or nn_gamma != 1.0):
            raise ValueError(f"{name}: nn_beta and nn_gamma belong to correction='ascent' "
                             f'(got nn_beta={nn_beta}, nn_gamma={nn_gamma})')
        if nn_beta < 0 or nn_gamma < 0:
            raise ValueError(f'{name}: nn_beta and nn_gamma must be >= 0, got {nn_beta} and '
                             f'{nn_gamma}')
        self.gamma, self.alpha = resolve_base(base, gamma, alpha, name)
        prior_t = per_class(prior, 'prior', 1.0, name, closed=True)
        missing_t = per_class(missing_rate, 'missing_rate', 1.0, name, closed=False)
        self.mode = mode
        self.correction = correction
        self.nn_beta = nn_beta
        self.nn_gamma = nn_gamma
        self.base = base
        # Constants from the arguments: non-persistent, so they follow .to(device) without
        # entering the state dict.
        self.register_buffer('prior', prior_t, persistent=False)
        self.register_buffer('missing_rate', missing_t, persistent=False)
        # The status tells U from N ('pnu') and counts the missing rate's positives.
        self.status_required = mode == 'pnu' or missing_rate is not None

    def class_values(self, value: Tensor, num_classes: int, label: str) -> Tensor:
        """``value`` as a scalar or (C,), checking a per-class length against C."""
        if value.dim() == 1 and value.numel() != num_classes:
            raise ValueError(f'{type(self).__name__}: {label} has {value.numel()} values for '
                             f'{num_classes} classes')
        return value

    def element_sets(self, target: Tensor,
                     status: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        """(N, C) bool P, U and N of the module docstring."""
        positive = target > 0
        unlabeled = ~positive if self.mode == 'pu' else ~positive & status
        return positive, unlabeled, ~positive & ~unlabeled

    def weighted_terms(self, logits: Tensor, target: Tensor, weight: Tensor,
                       status: Optional[Tensor]) -> Tensor:
        """The per-element terms of L_c (:func:`nnpu_loss`), summing over each class to L_c:
        those of :meth:`terms_with_statistics` with the call's own statistic."""
        return self.terms_with_statistics(
            logits, target, weight, status,
            self.statistics(logits, target, weight, status, None, 1), None)

    def statistics(self, logits: Tensor, target: Tensor, weight: Tensor,
                   status: Optional[Tensor], index: Optional[Tensor], size: int) -> Tensor:
        """(size, 5, C) per population: W_P, W_U, n_P of partial images, and the sums of
        w l- over U and over P (r = the first minus k times the second)."""
        positive, unlabeled, _ = self.element_sets(target, status)
        loss_neg = sigmoid_base_terms(logits.detach(), self.base, self.gamma, self.alpha)[1]
        w_pos, w_unl = weight * positive, weight * unlabeled
        labeled_partial = weight * (positive & status) if status is not None \
            else torch.zeros_like(w_pos)
        rows = torch.stack([w_pos, w_unl, labeled_partial, w_unl * loss_neg, w_pos * loss_neg],
                           1)
        return population_sums(rows, index, size)

    def terms_with_statistics(self, logits: Tensor, target: Tensor, weight: Tensor,
                              status: Optional[Tensor], statistics: Tensor,
                              index: Optional[Tensor]) -> Tensor:
        """The terms of L_c (:func:`nnpu_terms`), k, pi and r those of each row's population."""
        positive, unlabeled, negative = self.element_sets(target, status)
        mass_pos, mass_unl, num_positive, unl_neg, pos_neg = statistics.unbind(1)
        if self.missing_rate is None:
            prior = self.class_values(self.prior, logits.size(1), 'prior')
        else:
            prior = prior_from_missing_rate(
                self.class_values(self.missing_rate, logits.size(1), 'missing_rate'),
                num_positive, mass_unl)
        k = risk_scale(prior, mass_pos, mass_unl)
        risk = unl_neg - k * pos_neg
        if index is not None:
            k, risk, mass_unl = (value.index_select(0, index) for value in (k, risk, mass_unl))
        loss_pos, loss_neg = sigmoid_base_terms(logits, self.base, self.gamma, self.alpha)
        return nnpu_terms(loss_pos, loss_neg, positive, unlabeled, negative, weight, k, risk,
                          mass_unl, self.correction, self.nn_beta, self.nn_gamma)
