"""DGHM-C: the Decoupled Gradient Harmonizing Mechanism classification loss.

Lin et al., "Decoupled Gradient Harmonized Detector for Partial Annotation: Application to
Signet Ring Cell Detection", Neurocomputing 2020, section 3.4, eq. (9)-(12); DGHM-C* (three
groups) from section 5.1. Gradient harmonizing (GHM-C) is Li et al., AAAI 2019.

For every element (anchor i, class c) with p = sigmoid(x) and binary label t, the gradient norm
is g = |p - t| (eq. 3). Elements are split into groups whose gradient-norm histograms are
harmonized separately (eq. 9); with ``bins`` unit regions of width 1 / bins, an element in bin
b of group k has gradient density GD = R[k, b] * bins, R being the count of valid elements of
group k in that bin. Its weight is

    w = 1 / (M * GD ** gamma),                                  eq. (10)-(12) with beta / (M N)

where gamma (eq. 11) is ``mu_noisy`` for noisy outliers (g >= outlier_thr), ``mu_clean`` for
clean outliers and 1 otherwise, and M is the number of groups holding valid elements. The loss
is sum(w * label_weight * BCE(x, t)): eq. (12)'s 1 / (M N) and beta's N cancel.

A single integer slot per element (bin, group, outlier flag) drives both the histogram (one
``bincount``) and the weight lookup (one gather); NaN logits land in a valid slot and give a
NaN loss, as BCE does.

The maths lives in small pure functions; :class:`DGHMCLoss` is the registered adapter that
validates input, keeps the optional moving average and all-reduces counts under DDP.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from ...structures.annotation_status import checked_partial
from .base_loss import PartialSigmoidLoss
from .utils import check_logits, check_reduction, classification_target, label_weight

#: Number of harmonized groups per decoupling mode; the noisy group (AP_N) is always last.
DECOUPLE_GROUPS = {'noisy_clean': 2, 'full': 3}
#: The groups of :func:`group_codes` by index (paper section 3.1): AP_P positives, AP_N
#: negatives of partially annotated images, NP_N negatives of exhaustively annotated ones.
GROUP_NAMES = {'noisy_clean': ('AP_P+NP_N', 'AP_N'), 'full': ('AP_P', 'NP_N', 'AP_N')}


def outlier_gammas(decouple: str, mu_noisy: float, mu_clean: float) -> Tensor:
    """The modulating factor gamma of eq. (11) for an outlier of each group.

    Args:
        decouple (str): ``'noisy_clean'`` or ``'full'``.
        mu_noisy (float): mu_n, for outliers of the noisy group (AP_N, always the last).
        mu_clean (float): mu_c, for outliers of every clean group.

    Returns:
        Tensor: (num_groups,) float32, one gamma per group of :func:`group_codes`.
    """
    return torch.tensor([mu_clean] * (DECOUPLE_GROUPS[decouple] - 1) + [mu_noisy])


def gradient_bins_(g: Tensor, bins: int) -> Tensor:
    """Unit region of each gradient norm (eq. 9): b = min(floor(g * bins), bins - 1).

    In place, like torch's ``*_`` methods: ``g``'s storage is reused for g * bins, because
    every fresh 1e6-element buffer costs page faults comparable to the arithmetic itself.

    Args:
        g (Tensor): Gradient norms in [0, 1], overwritten. NaN (from NaN logits) is put in
            bin 0 so that it stays a valid index; its loss term is NaN anyway.
        bins (int): Number of unit regions.

    Returns:
        Tensor: int32 bin indices in [0, bins - 1], same shape as ``g``.
    """
    # g >= 0, so truncation is floor; only g == 1 reaches ``bins`` and needs the clamp.
    return g.mul_(bins).nan_to_num_(nan=0.0).to(torch.int32).clamp_(max=bins - 1)


def group_codes(target: Tensor, partial: Tensor, outlier: Tensor, decouple: str) -> Tensor:
    """``2 * group + outlier`` of every element: the decoupling of eq. (9) and eq. (11)'s case.

    ``'noisy_clean'`` (DGHM-C, M <= 2): group 0 = clean (positives, and negatives of
    exhaustively annotated images: AP_P and NP_N), 1 = noisy (negatives of partially annotated
    images, AP_N). ``'full'`` (DGHM-C*, section 5.1, M <= 3): 0 = positives, 1 = negatives of
    exhaustively annotated images, 2 = negatives of partially annotated images.

    Args:
        target (Tensor): (N, C) binary labels.
        partial (Tensor): (N,) bool, True where every class of the prediction's image is
            partially annotated, or (N, C) bool, True where class c is partially annotated
            in the image of prediction i. Only negatives use it: positives are clean.
        outlier (Tensor): (N, C) bool, g >= lambda.
        decouple (str): ``'noisy_clean'`` or ``'full'``.

    Returns:
        Tensor: (N, C) uint8 codes in [0, 2 * num_groups - 1].
    """
    negative = target == 0
    # Arithmetic on uint8 views of the masks: one byte per element, no casts.
    group = (negative & (partial if partial.dim() == 2 else partial.view(-1, 1)))
    group = group.view(torch.uint8)
    if decouple == 'full':
        group = group + negative.view(torch.uint8)
    return (group * 2).add_(outlier.view(torch.uint8))


def element_slots_(bin_idx: Tensor, codes: Tensor, valid: Tensor, num_groups: int,
                   bins: int) -> Tensor:
    """Flat slot ``bin * 2K + code`` of every element, written into ``bin_idx``.

    One slot per element drives both the histogram and the weight lookup. Ignored elements
    go to the dump slot ``bins * 2K``, never counted nor weighted.

    Args:
        bin_idx (Tensor): (N, C) int32 bins from :func:`gradient_bins_`, overwritten.
        codes (Tensor): (N, C) codes from :func:`group_codes`.
        valid (Tensor): bool broadcastable to (N, C), False for ignored elements.
        num_groups (int): K, the number of groups.
        bins (int): Number of unit regions.

    Returns:
        Tensor: ``bin_idx``, now holding slots in [0, bins * 2K].
    """
    width = 2 * num_groups
    return bin_idx.mul_(width).add_(codes).masked_fill_(~valid, bins * width)


def count_per_group_bin(slots: Tensor, num_groups: int, bins: int) -> Tensor:
    """R[k, b], the number of valid elements of group k in bin b, in one ``bincount`` pass.

    Args:
        slots (Tensor): Element slots from :func:`element_slots_`.
        num_groups (int): K, the number of groups.
        bins (int): Number of unit regions.

    Returns:
        Tensor: (num_groups, bins) int64 counts.
    """
    per_slot = torch.bincount(slots.flatten(), minlength=(bins + 1) * 2 * num_groups)
    # Contiguous: collective backends (NCCL, gloo) all-reduce only dense tensors in place.
    return group_bin_counts(per_slot, num_groups, bins).contiguous()


def group_bin_counts(per_slot: Tensor, num_groups: int, bins: int) -> Tensor:
    """R[k, b] from the count of every slot (:func:`element_slots_`'s layout).

    Slots are bin-major; the outlier halves share their bin's count; the dump slot is dropped.

    Args:
        per_slot (Tensor): (..., bins * 2K + 1) counts per slot (leading dimensions kept).
        num_groups (int): K, the number of groups.
        bins (int): Number of unit regions.

    Returns:
        Tensor: (..., K, bins) counts, a view-derived tensor of ``per_slot``'s dtype.
    """
    per_slot = per_slot[..., :bins * 2 * num_groups]
    return per_slot.unflatten(-1, (bins, num_groups, 2)).sum(-1).transpose(-1, -2)


def harmonizing_weight_table(density_counts: Tensor, num_present: Tensor, gammas: Tensor,
                             bins: int) -> Tensor:
    """w = 1 / (M * GD ** gamma) for every slot, GD = R[k, b] * bins (eq. 9-12).

    Args:
        density_counts (Tensor): (K, bins) counts R, or their moving average.
        num_present (Tensor): Scalar M, the number of groups holding valid elements.
        gammas (Tensor): (K,) outlier gamma of each group (:func:`outlier_gammas`);
            non-outliers use gamma = 1.
        bins (int): Number of unit regions.

    Returns:
        Tensor: Flat (bins * 2K + 1,) float32 table indexed by :func:`element_slots_`, the
        last entry (the dump slot) 0; zero wherever R is zero (no valid element lands there).
    """
    density = density_counts.t().to(torch.float32).unsqueeze(-1) * bins  # (bins, K, 1)
    gammas = gammas.to(density)
    gamma = torch.stack([torch.ones_like(gammas), gammas], 1)  # (K, 2): [inlier, outlier]
    table = torch.where(density > 0, 1.0 / (num_present * density.pow(gamma)), 0.0)
    return F.pad(table.flatten(), (0, 1))


def normalized_weight_table(density_counts: Tensor, num_present: Tensor, gammas: Tensor,
                            bins: int) -> Tensor:
    """w = 1 / (M * N_k * GD' ** gamma), GD' = R[k, b] * bins / N_k, a scale-free eq. (10).

    The paper's GD = R * bins grows with the number of elements, so an outlier's weight
    relative to an inlier of its bin, (R * bins) ** (1 - gamma), depends on the batch size,
    crop and image scale. Normalising the counts by the group's size N_k makes GD' the
    histogram's density (it integrates to 1) and that ratio GD' ** (1 - gamma) scale-free;
    the 1 / N_k keeps the loss a mean over each group, so it equals the paper's form when
    gamma = 1 and duplicating every element leaves the loss unchanged for any gamma.

    Args:
        density_counts (Tensor): (K, bins) counts R, or their moving average.
        num_present (Tensor): Scalar M, the number of groups holding valid elements.
        gammas (Tensor): (K,) outlier gamma of each group; non-outliers use gamma = 1.
        bins (int): Number of unit regions.

    Returns:
        Tensor: Flat (bins * 2K + 1,) float32 table indexed by :func:`element_slots_`, laid
        out as :func:`harmonizing_weight_table`'s.
    """
    sizes = density_counts.sum(1, keepdim=True).to(torch.float32).clamp_(min=1)  # (K, 1)
    table = harmonizing_weight_table(density_counts / sizes, num_present, gammas, bins)
    per_slot = sizes.t().unsqueeze(-1).expand(bins, -1, 2).flatten()
    return table / F.pad(per_slot, (0, 1), value=1.0)


def rescaled_weight_table(density_counts: Tensor, num_present: Tensor, gammas: Tensor,
                          bins: int, reference_size: float) -> Tensor:
    """Eq. (10) as if the batch held ``reference_size`` valid elements, whatever it holds.

    With N the batch's valid elements and s = reference_size / N, the counts become R * s and
    every weight is multiplied by s: w = s / (M * (R * s * bins) ** gamma). Each bin of
    inliers then carries 1 / (M * bins) in all, as in the paper, and the outliers of a bin
    carry what the paper gives them in a batch of ``reference_size`` elements. So the weights
    equal the paper's at N = ``reference_size`` and do not change when the batch is
    duplicated, while the groups keep their proportions (one s for every group), unlike
    :func:`normalized_weight_table`, which is the paper's form at a group size of one.

    Args:
        density_counts (Tensor): (K, bins) counts R, or their moving average.
        num_present (Tensor): Scalar M, the number of groups holding valid elements.
        gammas (Tensor): (K,) outlier gamma of each group; non-outliers use gamma = 1.
        bins (int): Number of unit regions.
        reference_size (float): Valid elements of the batch at which the paper's weights
            are kept (for example those of the recipe's batch size).

    Returns:
        Tensor: Flat (bins * 2K + 1,) float32 table indexed by :func:`element_slots_`, laid
        out as :func:`harmonizing_weight_table`'s.
    """
    scale = reference_size / density_counts.sum().to(torch.float32).clamp(min=1)
    return harmonizing_weight_table(density_counts * scale, num_present, gammas, bins) * scale


#: Weight table of each ``density`` option of :func:`dghmc_loss`.
DENSITY_TABLES = {'paper': harmonizing_weight_table, 'normalized': normalized_weight_table,
                  'rescaled': rescaled_weight_table}
#: How :func:`dghmc_loss` scales the weighted sum: eq. (12) as written, or by the weights' mass.
NORMALIZATIONS = ('paper', 'mass')


def unit_mass_(weight: Tensor, sync: bool = False) -> Tensor:
    """Divide the element weights by their total, in place: sum(w * l) becomes a weighted mean.

    Eq. (12)'s weights sum to one over the inliers of a fully populated histogram, but an
    outlier bin of R elements carries R ** (1 - gamma) / (M * bins ** gamma), which grows
    without bound for gamma < 1 (mu_clean = 0.5 on the positives at initialisation, or on a
    burst of confident mistakes). Dividing by the mass W = sum(w) keeps every element's weight
    relative to every other one, equals eq. (12) where W = 1, and bounds the loss by the
    largest BCE term and each element's gradient by |p - t|: what a stock optimizer without
    gradient clipping needs.

    Args:
        weight (Tensor): Non-negative element weights (label weights applied), overwritten.
        sync (bool): Use the mass of the global batch under DDP (as the counts are).
            Defaults to False.

    Returns:
        Tensor: ``weight``, now summing to one (over all ranks with ``sync``); unchanged where
        every weight is zero.
    """
    mass = weight.sum()
    if sync and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(mass)
    return weight.div_(mass.clamp(min=torch.finfo(torch.float32).tiny))


def check_options(name: str, bins: int, mu_noisy: float, mu_clean: float, outlier_thr: float,
                  momentum: float, decouple: str, density: str,
                  reference_size: Optional[float], normalize: str = 'paper') -> None:
    """Refuse option values :func:`dghmc_loss` does not define.

    Raises:
        ValueError: Naming ``name``, the option and its value.
    """
    if int(bins) != bins or bins < 1:
        raise ValueError(f'{name}: bins must be an integer >= 1, got {bins}')
    if not 0.0 <= outlier_thr <= 1.0:
        raise ValueError(f'{name}: outlier_thr must lie in [0, 1], got {outlier_thr}')
    if mu_noisy < 0 or mu_clean < 0:
        raise ValueError(f'{name}: mu_noisy and mu_clean must be >= 0, got {mu_noisy} and '
                         f'{mu_clean}')
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f'{name}: momentum must lie in [0, 1), got {momentum}')
    if decouple not in DECOUPLE_GROUPS:
        raise ValueError(f'{name}: decouple must be one of {tuple(DECOUPLE_GROUPS)}, got '
                         f'{decouple!r}')
    if density not in DENSITY_TABLES:
        raise ValueError(f'{name}: density must be one of {tuple(DENSITY_TABLES)}, got '
                         f'{density!r}')
    if (density == 'rescaled') != (reference_size is not None):
        raise ValueError(f"{name}: reference_size is required by, and only used with, "
                         f"density='rescaled'; got density={density!r}, "
                         f'reference_size={reference_size}')
    if reference_size is not None and not reference_size > 0:
        raise ValueError(f'{name}: reference_size must be > 0, got {reference_size}')
    if normalize not in NORMALIZATIONS:
        raise ValueError(f'{name}: normalize must be one of {NORMALIZATIONS}, got '
                         f'{normalize!r}')


def update_moving_counts_(moving_counts: Tensor, counts: Tensor, momentum: float) -> Tensor:
    """EMA of the counts, updated in place for the bins non-empty in this batch (GHM-C).

    Args:
        moving_counts (Tensor): (K, bins) float moving average, overwritten.
        counts (Tensor): (K, bins) counts R of this batch.
        momentum (float): Weight of the old average.

    Returns:
        Tensor: ``moving_counts``.
    """
    moved = momentum * moving_counts + (1 - momentum) * counts
    return moving_counts.copy_(torch.where(counts > 0, moved, moving_counts))


def gradient_slots_(g: Tensor, target: Tensor, valid: Tensor, partial: Tensor, bins: int,
                    outlier_thr: float, decouple: str) -> Tensor:
    """Flat slot of every element from its gradient norm g = |p - t| (eq. 3), overwritten:
    its group and outlier case (:func:`group_codes`), its bin, the dump slot if not valid.

    Returns:
        Tensor: (N, C) int32 slots in [0, bins * 2K] (:func:`element_slots_`).
    """
    codes = group_codes(target, partial, g >= outlier_thr, decouple)
    return element_slots_(gradient_bins_(g, bins), codes, valid, DECOUPLE_GROUPS[decouple],
                          bins)


@torch.no_grad()
def dghmc_weights(g: Tensor,
                  target: Tensor,
                  valid: Tensor,
                  partial: Tensor,
                  bins: int = 10,
                  mu_noisy: float = 2.0,
                  mu_clean: float = 0.5,
                  outlier_thr: float = 0.9,
                  decouple: str = 'noisy_clean',
                  density: str = 'paper',
                  reference_size: Optional[float] = None,
                  moving_counts: Optional[Tensor] = None,
                  momentum: float = 0.0,
                  sync: bool = False) -> Tensor:
    """Per-element w = 1 / (M * GD ** gamma) of eq. (9)-(12) from the gradient norms.

    Args:
        g (Tensor): (N, C) float32 gradient norms g = |p - t| (eq. 3) in [0, 1], overwritten.
        target (Tensor): (N, C) binary labels.
        valid (Tensor): bool broadcastable to (N, C), False for ignored elements.
        partial (Tensor): (N,) or (N, C) bool, see :func:`group_codes`.
        bins, mu_noisy, mu_clean, outlier_thr, decouple, density, reference_size: As in
            :func:`dghmc_loss`.
        moving_counts (Tensor, optional): (K, bins) moving average of the counts; with
            ``momentum`` > 0 it is updated in place and replaces R (like ``running_mean`` of
            ``F.batch_norm``). Defaults to None: the batch's own counts.
        momentum (float): Weight of the old average. Defaults to 0.0.
        sync (bool): Sum the counts over the ranks of an initialised process group.
            Defaults to False.

    Returns:
        Tensor: (N, C) float32 weights, 0 for ignored elements, without gradient.
    """
    num_groups = DECOUPLE_GROUPS[decouple]
    slots = gradient_slots_(g, target, valid, partial, bins, outlier_thr, decouple)
    counts = count_per_group_bin(slots, num_groups, bins)
    if sync and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(counts)
    num_present = (counts.sum(1) > 0).sum()
    density_counts = counts
    if moving_counts is not None and momentum > 0:
        density_counts = update_moving_counts_(moving_counts, counts, momentum)
    extra = () if reference_size is None else (reference_size, )
    table = DENSITY_TABLES[density](density_counts, num_present,
                                    outlier_gammas(decouple, mu_noisy, mu_clean), bins, *extra)
    # index_select is several times faster than advanced indexing on the CPU.
    return table.index_select(0, slots.flatten()).view_as(slots)


def dghmc_slots(logits: Tensor, target: Tensor, label_weights: Tensor, partial: Tensor,
                bins: int, outlier_thr: float, decouple: str) -> Tensor:
    """Flat slot of every element (:func:`element_slots_`) from the logits.

    Args:
        logits (Tensor): (N, C) float32 logits.
        target (Tensor): (N, C) float32 targets.
        label_weights (Tensor): (N, 1) or (N, C); <= 0 ignores an element.
        partial (Tensor): (N,), (N, 1) or (N, C) bool status.
        bins (int): Number of unit regions.
        outlier_thr (float): lambda.
        decouple (str): ``'noisy_clean'`` or ``'full'``.

    Returns:
        Tensor: (N, C) int32 slots in [0, bins * 2K].
    """
    return gradient_slots_(logits.detach().sigmoid().sub_(target).abs_(), target,
                           label_weights > 0, partial, bins, outlier_thr, decouple)


def slot_statistics(slots: Tensor, label_weights: Tensor, index: Optional[Tensor],
                    size: int, num_slots: int) -> Tensor:
    """Element count and label-weight mass of every slot, per population of rows.

    What the weights of eq. (10)-(12) need from a set of rows: the counts R (a slot's
    elements, summed over its outlier pair) and, for ``normalize='mass'``, the mass
    sum(w * label_weight) = sum over slots of w(slot) times the slot's label-weight mass.
    Sums, so a population spanning calls or ranks adds its parts.

    Args:
        slots (Tensor): (N, C) slots from :func:`element_slots_`.
        label_weights (Tensor): (N, 1) or (N, C) float32 label weights.
        index (Tensor, optional): (N,) int64 population of each row; None: one population.
        size (int): Number of populations.
        num_slots (int): ``bins * 2K``, the slots before the dump slot.

    Returns:
        Tensor: (size, 2, num_slots + 1) float64: counts, then masses.
    """
    flat = slots.long()
    if index is not None:
        flat = flat + index.view(-1, 1) * (num_slots + 1)
    flat = flat.flatten()
    length = size * (num_slots + 1)
    counts = torch.bincount(flat, minlength=length).double()
    mass = torch.bincount(flat, weights=label_weights.expand_as(slots).flatten().double(),
                          minlength=length)
    return torch.stack([counts, mass]).view(2, size, num_slots + 1).transpose(0, 1)


def population_weight_tables(statistics: Tensor, gammas: Tensor, bins: int,
                             density: str = 'paper', reference_size: Optional[float] = None,
                             normalize: str = 'paper') -> Tensor:
    """w of every slot (eq. 10-12) for each population, from its :func:`slot_statistics`.

    Args:
        statistics (Tensor): (P, 2, bins * 2K + 1) counts and masses.
        gammas (Tensor): (K,) outlier gamma of each group (:func:`outlier_gammas`).
        bins (int): Number of unit regions.
        density, reference_size, normalize: As in :func:`dghmc_loss`.

    Returns:
        Tensor: (P, bins * 2K + 1) float32 tables laid out as
        :func:`harmonizing_weight_table`'s, divided by the population's mass for
        ``normalize='mass'``.
    """
    counts = group_bin_counts(statistics[:, 0], gammas.numel(), bins).round().long()
    num_present = (counts.sum(-1) > 0).sum(-1)
    extra = () if reference_size is None else (reference_size, )
    # One small table per population (a level, or the batch): a handful of iterations.
    tables = torch.stack([DENSITY_TABLES[density](counts[p], num_present[p], gammas, bins,
                                                  *extra) for p in range(counts.size(0))])
    if normalize == 'mass':
        mass = (tables.double() * statistics[:, 1]).sum(-1, keepdim=True)
        tables = (tables / mass.clamp(min=torch.finfo(torch.float32).tiny)).float()
    return tables


def dghmc_loss(pred: Tensor,
               target: Tensor,
               partial: Tensor,
               weight: Optional[Tensor] = None,
               bins: int = 10,
               mu_noisy: float = 2.0,
               mu_clean: float = 0.5,
               outlier_thr: float = 0.9,
               decouple: str = 'noisy_clean',
               density: str = 'paper',
               reference_size: Optional[float] = None,
               moving_counts: Optional[Tensor] = None,
               momentum: float = 0.0,
               sync: bool = False,
               normalize: str = 'paper',
               reduction: str = 'sum') -> Tensor:
    """DGHM-C loss, sum over elements of w * label_weight * BCE(x, t) (eq. 9-12).

    The functional form of :class:`DGHMCLoss`, in the style of torchvision's
    ``sigmoid_focal_loss``: stateless unless given ``moving_counts``.

    Args:
        pred (Tensor): (N, C) logits. Half inputs are computed in float32.
        target (Tensor | tuple): (N,) class indices with background = C, (N, C) binary, or
            RTMDet's (labels, IoU scores) soft form (``QualityFocalLoss``'s): g = |p - t| and
            BCE(x, t) with the soft t, an element with t > 0 a positive.
        partial (Tensor): (N,) bool, True where every class of the prediction's image is
            partially annotated, or (N, C) bool, True where class c is partially annotated in
            the image of prediction i: the negative of such an element is noisy (AP_N).
        weight (Tensor, optional): (N,) or (N, C) label weights; elements with weight <= 0
            are ignored (not counted, no loss), others scale their term. Defaults to None.
        bins (int): Number of unit regions of the gradient norm. Defaults to 10.
        mu_noisy (float): mu_n, gamma for noisy outliers. Defaults to 2.0.
        mu_clean (float): mu_c, gamma for clean outliers. Defaults to 0.5.
        outlier_thr (float): lambda, the gradient norm from which an element is an outlier.
            Defaults to 0.9.
        decouple (str): ``'noisy_clean'`` (DGHM-C) or ``'full'`` (DGHM-C*). Defaults to
            ``'noisy_clean'``.
        density (str): ``'paper'``, ``'normalized'`` or ``'rescaled'`` (see
            :class:`DGHMCLoss`). Defaults to ``'paper'``.
        reference_size (float, optional): Valid elements of the reference batch, for
            ``density='rescaled'`` only. Defaults to None.
        moving_counts (Tensor, optional): (K, bins) float32 moving average of the counts,
            updated in place when ``momentum`` > 0. Defaults to None.
        momentum (float): Weight of the old average. Defaults to 0.0.
        sync (bool): Densities of the global batch under DDP. Defaults to False.
        normalize (str): ``'paper'``: the weighted sum of eq. (12); ``'mass'``: that sum
            divided by the weights' total (:func:`unit_mass_`), a weighted mean of BCE with
            the same relative weights. Defaults to ``'paper'``.
        reduction (str): ``'none'`` returns the (N, C) weighted terms; ``'sum'`` and
            ``'mean'`` both return their sum, the weights normalising by the number of
            elements already. Defaults to ``'sum'``.

    Returns:
        Tensor: float32 scalar, or (N, C) terms for reduction ``'none'``.

    Raises:
        ValueError: For an option outside its range or inputs of the wrong shape or type.
    """
    name = 'dghmc_loss'
    check_options(name, bins, mu_noisy, mu_clean, outlier_thr, momentum, decouple, density,
                  reference_size, normalize)
    check_reduction(reduction, name)
    check_logits(pred, name)
    partial = checked_partial(pred, partial, name)
    binary = classification_target(pred, target, name, soft=True)
    lw = label_weight(pred, weight, name)
    terms = dghmc_terms(pred.float(), binary, lw, partial, normalize, bins=bins,
                        mu_noisy=mu_noisy, mu_clean=mu_clean, outlier_thr=outlier_thr,
                        decouple=decouple, density=density, reference_size=reference_size,
                        moving_counts=moving_counts, momentum=momentum, sync=sync)
    return terms if reduction == 'none' else terms.sum()


def dghmc_terms(logits: Tensor, target: Tensor, label_weights: Tensor, partial: Tensor,
                normalize: str = 'paper', **weight_options) -> Tensor:
    """The (N, C) terms w * label_weight * BCE(x, t) of eq. (12), checked inputs.

    Args:
        logits (Tensor): (N, C) float32 logits.
        target (Tensor): (N, C) float32 targets, binary or soft.
        label_weights (Tensor): (N, 1) or (N, C) float32; <= 0 ignores an element.
        partial (Tensor): (N,), (N, 1) or (N, C) bool status.
        normalize (str): As in :func:`dghmc_loss`. Defaults to ``'paper'``.
        **weight_options: The options of :func:`dghmc_weights` (bins, mu_noisy, ..., sync).

    Returns:
        Tensor: (N, C) float32 terms, summing to the loss.
    """
    harmonized = dghmc_weights(logits.detach().sigmoid().sub_(target).abs_(), target,
                               label_weights > 0, partial, **weight_options)
    # In place: ``harmonized`` is a fresh tensor and the label weights usually (N, 1).
    weight = harmonized.mul_(label_weights)
    if normalize == 'mass':
        unit_mass_(weight, weight_options.get('sync', False))
    return F.binary_cross_entropy_with_logits(logits, target, weight=weight, reduction='none')


@MODELS.register_module()
class DGHMCLoss(PartialSigmoidLoss):
    """DGHM-C loss (eq. 9-12) for sigmoid classification on partially annotated data.

    On the base of every status-aware loss (:class:`.PartialSigmoidLoss`): ``partial`` is
    required, RTMDet's soft targets are taken (:attr:`soft_targets`), and the terms normalise
    themselves (:attr:`self_normalised`: ``'mean'`` sums them, ``avg_factor`` is unused).

    Args:
        use_sigmoid (bool): Must be True: DGHM-C is defined on per-class sigmoid outputs.
            Defaults to True.
        bins (int): Number of unit regions of the gradient norm. Defaults to 10.
        mu_noisy (float): mu_n, gamma for noisy outliers (> 1 down-weights them).
            Defaults to 2.0.
        mu_clean (float): mu_c, gamma for clean outliers (< 1 up-weights them).
            Defaults to 0.5.
        outlier_thr (float): lambda, the gradient norm from which an element is an outlier.
            Defaults to 0.9.
        momentum (float): If > 0, an exponential moving average of the counts per group and
            bin (a buffer ``acc_counts``, in the state dict) replaces R, as in GHM-C. It is
            updated for bins that are non-empty in the batch, and only in training mode; in
            eval mode the batch's own counts are used. Defaults to 0.0.
        decouple (str): ``'noisy_clean'`` (DGHM-C, two groups) or ``'full'`` (DGHM-C*, three
            groups: positives, exhaustive negatives, partial negatives). Defaults to
            ``'noisy_clean'``.
        sync (bool): If True and torch.distributed is initialised with more than one rank,
            counts are summed over ranks before weighting, so densities are those of the
            global batch and the per-rank losses add up to the loss of the global batch
            (DDP then averages gradients, i.e. divides that sum by the world size).
            Defaults to False.
        density (str): ``'paper'``: GD = R * bins (eq. 10); ``'normalized'``: counts divided
            by the group's size, so the weights do not depend on how many elements a batch
            holds (:func:`normalized_weight_table`); ``'rescaled'``: the paper's weights of a
            batch of ``reference_size`` elements at any batch size
            (:func:`rescaled_weight_table`). Defaults to ``'paper'``.
        reference_size (float, optional): Valid elements of the reference batch; required
            by, and only used with, ``density='rescaled'``. Defaults to None.
        normalize (str): ``'paper'``: eq. (12)'s weighted sum, which grows with the number
            of clean outliers (mu_clean < 1) and needs gradient clipping under SGD;
            ``'mass'``: the same weights divided by their total (:func:`unit_mass_`), a
            weighted mean of BCE that trains under a stock detector's optimizer without
            clipping (the ``configs/dghmc_swap`` default). Defaults to ``'paper'``.
        loss_weight (float): Scale of the loss. Defaults to 1.0.
        reduction (str): ``'none'`` returns the (N, C) weighted terms; ``'mean'`` and
            ``'sum'`` both return their sum, because the harmonizing weights already
            normalise by the number of elements. Defaults to ``'mean'``.
        roi_classifier (bool): The form an RoI box head trains (C sigmoid channels through
            mmdet's ``custom_cls_channels``, :mod:`.roi_classifier_form`). Defaults to False.
        population (str): The rows whose histogram (and mass) weights them: ``'call'``,
            ``'level'`` or ``'batch'`` (:mod:`.statistic_population`). Only ``'call'`` keeps
            a moving average (``momentum``). Defaults to ``'call'``.
    """

    soft_targets = True
    self_normalised = True
    has_statistic = True

    def __init__(self,
                 use_sigmoid: bool = True,
                 bins: int = 10,
                 mu_noisy: float = 2.0,
                 mu_clean: float = 0.5,
                 outlier_thr: float = 0.9,
                 momentum: float = 0.0,
                 decouple: str = 'noisy_clean',
                 sync: bool = False,
                 density: str = 'paper',
                 reference_size: Optional[float] = None,
                 normalize: str = 'paper',
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 roi_classifier: bool = False,
                 population: str = 'call') -> None:
        super().__init__(use_sigmoid, loss_weight, reduction, roi_classifier, population)
        check_options(type(self).__name__, bins, mu_noisy, mu_clean, outlier_thr, momentum,
                      decouple, density, reference_size, normalize)
        if momentum > 0 and population != 'call':
            raise ValueError(f"{type(self).__name__}: momentum averages the counts of each "
                             f"call; population={population!r} takes them from its rows "
                             f"(use momentum=0 or population='call')")
        self.normalize = normalize
        self.bins = int(bins)
        self.mu_noisy = mu_noisy
        self.mu_clean = mu_clean
        self.outlier_thr = outlier_thr
        self.momentum = momentum
        self.decouple = decouple
        self.sync = sync
        self.density = density
        self.reference_size = reference_size
        self.num_groups = DECOUPLE_GROUPS[decouple]
        if momentum > 0:
            self.register_buffer('acc_counts', torch.zeros(self.num_groups, self.bins))

    def options(self) -> dict:
        """Keyword arguments of :func:`dghmc_loss` / :func:`dghmc_weights` for this module.

        The moving counts are passed only in training mode, so eval uses the batch's own.
        """
        moving = self.acc_counts if self.momentum > 0 and self.training else None
        return dict(bins=self.bins, mu_noisy=self.mu_noisy, mu_clean=self.mu_clean,
                    outlier_thr=self.outlier_thr, decouple=self.decouple,
                    density=self.density, reference_size=self.reference_size,
                    moving_counts=moving, momentum=self.momentum, sync=self.sync)

    def weighted_terms(self, logits: Tensor, target: Tensor, weight: Tensor,
                       status: Optional[Tensor]) -> Tensor:
        """The (N, C) terms of eq. (12) (:func:`dghmc_terms`); ``forward`` is the base's:
        ``'mean'`` and ``'sum'`` give their sum, ``avg_factor`` unused, like GHM-C."""
        return dghmc_terms(logits, target, weight, status, normalize=self.normalize,
                           **self.options())

    def slots(self, logits: Tensor, target: Tensor, weight: Tensor,
              status: Optional[Tensor]) -> Tensor:
        """(N, C) slot of every element (:func:`dghmc_slots`)."""
        return dghmc_slots(logits, target, weight, status, self.bins, self.outlier_thr,
                           self.decouple)

    def statistics(self, logits: Tensor, target: Tensor, weight: Tensor,
                   status: Optional[Tensor], index: Optional[Tensor], size: int) -> Tensor:
        """(size, 2, bins * 2K + 1) slot counts and masses (:func:`slot_statistics`)."""
        return slot_statistics(self.slots(logits, target, weight, status), weight, index,
                               size, self.bins * 2 * self.num_groups)

    def reduce_statistics(self, statistics: Tensor) -> Tensor:
        """Summed over the ranks with ``sync``, as the per-call counts are."""
        if self.sync and dist.is_available() and dist.is_initialized() and \
                dist.get_world_size() > 1:
            dist.all_reduce(statistics)
        return statistics

    def terms_with_statistics(self, logits: Tensor, target: Tensor, weight: Tensor,
                              status: Optional[Tensor], statistics: Tensor,
                              index: Optional[Tensor]) -> Tensor:
        """The (N, C) terms of eq. (12), each row weighted by its population's histogram."""
        tables = population_weight_tables(
            statistics, outlier_gammas(self.decouple, self.mu_noisy, self.mu_clean), self.bins,
            self.density, self.reference_size, self.normalize).to(logits.device)
        slots = self.slots(logits, target, weight, status).long()
        if index is not None:
            slots = slots + index.view(-1, 1) * tables.size(1)
        harmonized = tables.flatten().index_select(0, slots.flatten()).view_as(slots)
        return F.binary_cross_entropy_with_logits(logits, target, weight=harmonized * weight,
                                                  reduction='none')

    def harmonizing_weights(self, logits: Tensor, target: Tensor, valid: Tensor,
                            partial: Tensor) -> Tensor:
        """Per-element w = 1 / (M * GD ** gamma) of eq. (9)-(12); 0 for invalid elements.

        Args:
            logits (Tensor): (N, C) float32 logits.
            target (Tensor): (N, C) binary labels.
            valid (Tensor): bool broadcastable to (N, C), False for ignored elements.
            partial (Tensor): (N,) or (N, C) bool, see :func:`group_codes`.

        Returns:
            Tensor: (N, C) float32 weights, without gradient.
        """
        return self.weights_of_gradient_norms(logits.detach().sigmoid().sub_(target).abs_(),
                                              target, valid, partial)

    def weights_of_gradient_norms(self, g: Tensor, target: Tensor, valid: Tensor,
                                  partial: Tensor) -> Tensor:
        """:meth:`harmonizing_weights` from the gradient norms g = |p - t| (eq. 3), overwritten.

        In training mode with ``momentum`` > 0 the moving counts are updated, as in
        :meth:`forward`.
        """
        return dghmc_weights(g, target, valid, partial, **self.options())
