"""Which of a teacher's detections become labels, guided by the annotation status.

A detection of class c in image b is a candidate only where class c is partially annotated in
that image (``status[b, c]``): an exhaustively annotated image or class has nothing missing,
and a pseudo-box there would plant a false label. A candidate that overlaps an annotated box
(IoU >= ``iou_thr`` with any annotated box, ignored ones included) is that box seen again and
is dropped. The rest split by score:

- ``score >= pos_thr``: a pseudo-positive, trained on as an annotated box is;
- ``ignore_thr <= score < pos_thr``: uncertain, neither positive nor negative (an ignored box:
  the assigner leaves the priors on it out of the loss);
- below ``ignore_thr``: nothing; its priors stay unlabelled negatives, noisy ones under a
  status-aware loss.

With ``max_per_annotated`` r, an image receives at most ceil(r * n_c) pseudo-positives of
class c, n_c its annotated boxes of that class (the highest-scored; the rest of the confident
ones become uncertain). A missing rate m means about m / (1 - m) unannotated objects per
annotated one, which bounds what a teacher may add; without a bound a teacher's own
pseudo-boxes raise its scores on look-alikes, which then become pseudo-boxes in turn.

Annotated boxes are never touched. Both the in-training teacher and the offline self-training
tool select with :func:`select_pseudo_boxes`.
"""
from typing import NamedTuple, Optional

import torch
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor

__all__ = ['PseudoBoxSelection', 'check_thresholds', 'rank_within_label', 'select_pseudo_boxes']


class PseudoBoxSelection(NamedTuple):
    """Masks over a teacher's K detections.

    Attributes:
        positive (Tensor): (K,) bool, the pseudo-positives.
        ignored (Tensor): (K,) bool, the uncertain detections (ignored boxes).
    """

    positive: Tensor
    ignored: Tensor


def check_thresholds(pos_thr: float, ignore_thr: float, iou_thr: float) -> None:
    """Raise ``ValueError`` unless ``0 < ignore_thr <= pos_thr <= 1`` and ``0 < iou_thr <= 1``.

    ``ignore_thr == pos_thr`` means no uncertain band.
    """
    if not 0 < ignore_thr <= pos_thr <= 1:
        raise ValueError(f'pseudo-box thresholds need 0 < ignore_thr <= pos_thr <= 1, got '
                         f'ignore_thr={ignore_thr}, pos_thr={pos_thr}')
    if not 0 < iou_thr <= 1:
        raise ValueError(f'iou_thr must be in (0, 1], got {iou_thr}')


def rank_within_label(scores: Tensor, labels: Tensor) -> Tensor:
    """(K,) rank of each detection among those of its label, 0 for the highest score."""
    order = torch.argsort(scores, descending=True, stable=True)
    order = order[torch.argsort(labels[order], stable=True)]
    sorted_labels = labels[order]
    position = torch.arange(len(order), device=scores.device)
    first = torch.zeros_like(position)
    starts = torch.ones_like(sorted_labels, dtype=torch.bool)
    starts[1:] = sorted_labels[1:] != sorted_labels[:-1]
    first[starts] = position[starts]
    first = torch.cummax(first, dim=0).values
    ranks = torch.empty_like(position)
    ranks[order] = position - first
    return ranks


def select_pseudo_boxes(bboxes: Tensor, scores: Tensor, labels: Tensor,
                        annotated_bboxes: Tensor, partial_classes: Tensor, *,
                        pos_thr: float, ignore_thr: float, iou_thr: float,
                        annotated_labels: Optional[Tensor] = None,
                        max_per_annotated: Optional[float] = None) -> PseudoBoxSelection:
    """Select the pseudo-positives and the uncertain detections of one image.

    Args:
        bboxes (Tensor): (K, 4) xyxy detections, in the frame of ``annotated_bboxes``.
        scores (Tensor): (K,) scores.
        labels (Tensor): (K,) 0-based labels.
        annotated_bboxes (Tensor): (G, 4) annotated boxes of the image, ignored ones included.
        partial_classes (Tensor): (C,) bool, True where the class is partially annotated in
            the image (a row of :func:`~mmdet_dghm.structures.annotation_status.
            image_class_status`).
        pos_thr (float): Lowest score of a pseudo-positive.
        ignore_thr (float): Lowest score of an uncertain detection; ``pos_thr``: none.
        iou_thr (float): IoU with an annotated box from which a detection is that box.
        annotated_labels (Tensor, optional): (G,) labels of ``annotated_bboxes``; needed with
            ``max_per_annotated``.
        max_per_annotated (float, optional): r of the module doc. Defaults to None: no bound.

    Returns:
        PseudoBoxSelection: Disjoint (K,) masks.
    """
    check_thresholds(pos_thr, ignore_thr, iou_thr)
    labels = labels.long()
    candidate = partial_classes[labels] if len(labels) else labels.bool()
    if len(annotated_bboxes) and len(bboxes):
        overlaps = bbox_overlaps(bboxes.float(), annotated_bboxes.float().to(bboxes.device))
        candidate = candidate & (overlaps.max(dim=1).values < iou_thr)
    confident = candidate & (scores >= pos_thr)
    positive = confident
    if max_per_annotated is not None:
        if annotated_labels is None:
            raise ValueError('max_per_annotated needs annotated_labels')
        counts = torch.bincount(annotated_labels.long().to(labels.device),
                                minlength=len(partial_classes))
        allowed = torch.ceil(max_per_annotated * counts.float()).long()
        ranks = rank_within_label(torch.where(confident, scores, scores.new_tensor(-1.0)),
                                  labels)
        positive = confident & (ranks < allowed[labels])
    ignored = candidate & (scores >= ignore_thr) & ~positive
    return PseudoBoxSelection(positive, ignored)
