"""BRL, the background recalibration loss: confusing negatives get the mirrored focal term.

Zhang, Chen, Shen, Hao, Zhu, Savvides, "Solving Missing-Annotation Object Detection with
Background Recalibration Loss", ICASSP 2020 (code: github.com/Dwrety/mmdetection-selective-iou,
``MirrorFocalLoss`` and ``BRLRetinaHead``). With p = sigmoid(x) and p_t, alpha_t as in focal
loss (:mod:`.base_loss`), a candidate negative whose background confidence p_t = 1 - p is below
the threshold t (a score p > 1 - t: the model sees an object where nothing is annotated) is
taken for a missing object and gets the positive branch, mirrored:

    BRL = -alpha (1 - p) ** gamma log p                        positives,
          -w beta (1 - alpha) (1 - p) ** gamma_m log p          candidates with 1 - p < t,
          -w (1 - alpha) p ** gamma log (1 - p)                 other candidates,
          -(1 - alpha) p ** gamma log (1 - p)                   every other negative,

w (``candidate_weight``), gamma_m (``mirror_gamma``) and beta being the authors' ``loss_weight``
of the confusion loss, ``gamma_2`` and ``beta``; the branch is chosen per element from the
forward value of p, strictly below t as in the authors' kernel. ``mode='all'`` makes every
negative a candidate (the paper's loss, status-blind); ``mode='partial'`` only the noisy
negatives, those whose class is partially annotated in their image, so that the negatives of
exhaustively annotated images keep the focal loss.

The authors' RetinaNet (``configs/BRL/brl_retinanet_r50_fpn_coco_50p.py``) uses t = 0.5,
gamma = gamma_m = 2, alpha = 0.25, beta = 1 and w = 0.1, the defaults here. It picks its
candidates by IoU (``SelectiveIoUAssigner``: anchors whose IoU with every box is below 0.1;
negatives with IoU in [0.1, 0.4) keep the plain focal loss), which belongs to the assigner, not
to a loss: ``mode='all'`` takes every negative instead, ``mode='partial'`` lets the annotation
status choose them. Both terms are normalised by the number of positives there, as
``avg_factor`` does here.
"""
from __future__ import annotations

from typing import Optional

import torch
from mmdet.registry import MODELS
from torch import Tensor

from .base_loss import FOCAL_ALPHA, FOCAL_GAMMA, PartialSigmoidLoss, focal_term, resolve_base
from .clean_only_loss import noisy_negatives

MODES = ('all', 'partial')


def confusing_negatives(pred: Tensor, candidate: Tensor, thresh: float) -> Tensor:
    """Candidates whose background confidence 1 - p is below ``thresh``: (N, C) bool."""
    return candidate & (1 - pred.detach().sigmoid() < thresh)


def background_recalibration_loss(pred: Tensor, target: Tensor, candidate: Tensor,
                                  gamma: float = FOCAL_GAMMA, alpha: float = FOCAL_ALPHA,
                                  thresh: float = 0.5, mirror_gamma: Optional[float] = None,
                                  beta: float = 1.0, candidate_weight: float = 0.1) -> Tensor:
    """Elementwise BRL of the module docstring.

    The mirrored branch is focal loss with the target flipped to 1, weighted by
    w * beta * (1 - alpha) and focused by gamma_m; every other element is focal loss, the
    candidates' weighted by w.

    Args:
        pred (Tensor): (N, C) logits.
        target (Tensor): (N, C) binary labels (float).
        candidate (Tensor): (N, C) bool, the negatives that may be recalibrated.
        gamma (float): Focal focusing parameter. Defaults to 2.0.
        alpha (float): Focal weight of positives. Defaults to 0.25.
        thresh (float): t; a candidate with 1 - p < t is confusing. Defaults to 0.5.
        mirror_gamma (float, optional): gamma_m of the mirrored branch. Defaults to None
            (``gamma``).
        beta (float): Weight of the mirrored branch. Defaults to 1.0.
        candidate_weight (float): w, the weight of every candidate's term. Defaults to 0.1.

    Returns:
        Tensor: (N, C) loss terms.
    """
    confusing = confusing_negatives(pred, candidate, thresh)
    flipped = torch.where(confusing, 1.0, target)
    class_weight = torch.where(target > 0, alpha, 1 - alpha)
    class_weight = torch.where(candidate, candidate_weight * class_weight, class_weight)
    class_weight = torch.where(confusing, beta * class_weight, class_weight)
    focus = gamma if mirror_gamma is None or mirror_gamma == gamma \
        else torch.where(confusing, mirror_gamma, gamma)
    return focal_term(pred, flipped, focus, class_weight)


@MODELS.register_module()
class BackgroundRecalibrationLoss(PartialSigmoidLoss):
    """BRL (Zhang et al., ICASSP 2020) on sigmoid outputs, original or status-aware.

    ``avg_factor`` is focal loss's (see :class:`.PartialSigmoidLoss`); ``'mean'`` without it
    averages over the N * C elements. ``partial`` is required by ``mode='partial'`` and
    validated, unused, by ``mode='all'``.

    Args:
        use_sigmoid (bool): Must be True (the focal branches are per-class sigmoid terms).
            Defaults to True.
        mode (str): ``'partial'``: the candidates are the noisy negatives (requires
            ``partial``); ``'all'``: every negative, as in the paper. Defaults to
            ``'partial'``.
        gamma (float): Focal focusing parameter (the authors' ``gamma_1``). Defaults to 2.0.
        alpha (float): Focal weight of positives. Defaults to 0.25.
        thresh (float): t in [0, 1]: a candidate negative with 1 - p < t (score
            p > 1 - t) is confusing; 0 mirrors nothing. Defaults to 0.5, the authors' BRL
            RetinaNet config (their ``MirrorFocalLoss`` signature defaults to 0.1, and an
            earlier every-negative prototype, ``configs/retinanet_r50_fpn_1x_mirror.py``,
            used 0.05 with w = 1).
        mirror_gamma (float, optional): Focusing parameter of the mirrored branch (the
            authors' ``gamma_2``). Defaults to None (``gamma``).
        beta (float): Weight of the mirrored branch (the authors' ``beta``). Defaults to
            1.0.
        candidate_weight (float): w, the weight of every candidate's term, mirrored or not
            (the authors' ``loss_weight`` of ``loss_cls_confusion``). With ``thresh=0`` and
            w = 1, BRL is mmdet's ``FocalLoss``. Defaults to 0.1.
        loss_weight (float): Scale of the loss. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        roi_classifier (bool): The form an RoI box head trains (C sigmoid channels through
            mmdet's ``custom_cls_channels``, :mod:`.roi_classifier_form`). Defaults to False.
    """

    def __init__(self,
                 use_sigmoid: bool = True,
                 mode: str = 'partial',
                 gamma: float = FOCAL_GAMMA,
                 alpha: float = FOCAL_ALPHA,
                 thresh: float = 0.5,
                 mirror_gamma: Optional[float] = None,
                 beta: float = 1.0,
                 candidate_weight: float = 0.1,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 roi_classifier: bool = False) -> None:
        super().__init__(use_sigmoid, loss_weight, reduction, roi_classifier)
        name = type(self).__name__
        if mode not in MODES:
            raise ValueError(f'{name}: mode must be one of {MODES}, got {mode!r}')
        self.gamma, self.alpha = resolve_base('focal', gamma, alpha, name)
        if not 0.0 <= thresh <= 1.0:
            raise ValueError(f'{name}: thresh must lie in [0, 1], got {thresh}')
        if mirror_gamma is not None and mirror_gamma < 0:
            raise ValueError(f'{name}: mirror_gamma must be >= 0, got {mirror_gamma}')
        if beta < 0:
            raise ValueError(f'{name}: beta must be >= 0, got {beta}')
        if candidate_weight < 0:
            raise ValueError(f'{name}: candidate_weight must be >= 0, got {candidate_weight}')
        self.mode = mode
        self.thresh = thresh
        self.mirror_gamma = mirror_gamma
        self.beta = beta
        self.candidate_weight = candidate_weight
        self.status_required = mode == 'partial'  # only the status-aware form reads it

    def weighted_terms(self, logits: Tensor, target: Tensor, weight: Tensor,
                       status: Optional[Tensor]) -> Tensor:
        """BRL(x, t) (:func:`background_recalibration_loss`) of this mode, times the weight."""
        candidate = target == 0 if self.mode == 'all' else noisy_negatives(target, status)
        return background_recalibration_loss(logits, target, candidate, self.gamma, self.alpha,
                                             self.thresh, self.mirror_gamma, self.beta,
                                             self.candidate_weight).mul_(weight)
