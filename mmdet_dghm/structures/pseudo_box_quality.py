"""How many of a teacher's pseudo-boxes are missing objects, where the missing ones are known.

Where a missing rate was imposed (the removed boxes of ``DigestPathDataset(drop_rate=...)``
or of a data root's ``removed_boxes.json``), the pseudo-boxes of an image can be scored
against the objects that were removed from it: a pseudo-box is *on* a removed box when their
IoU reaches ``iou_thr``, and a removed box is *found* when some pseudo-box is on it. The
counts are PartialTeacher's (``pseudo_on_removed``, ``removed_found``), so offline and
in-training pseudo-labels compare.
"""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmdet.structures.bbox import bbox_overlaps

__all__ = ['pseudo_box_quality', 'count_removed_hits']


def count_removed_hits(counts: Dict[str, int], pseudo: torch.Tensor, removed: torch.Tensor,
                       iou_thr: float) -> None:
    """Add one image's ``removed_boxes``, ``pseudo_on_removed`` and ``removed_found`` to
    ``counts``.

    Args:
        counts (dict): Running counts, updated in place.
        pseudo (Tensor): (P, 4) xyxy pseudo-boxes.
        removed (Tensor): (R, 4) xyxy removed boxes, same device.
        iou_thr (float): IoU from which a pseudo-box is on a removed box.
    """
    counts['removed_boxes'] += len(removed)
    if len(pseudo) and len(removed):
        hits = bbox_overlaps(pseudo, removed) >= iou_thr
        counts['pseudo_on_removed'] += int(hits.any(dim=1).sum())
        counts['removed_found'] += int(hits.any(dim=0).sum())


def pseudo_box_quality(pseudo: Sequence[np.ndarray], removed: Sequence[np.ndarray],
                       iou_thr: float = 0.5) -> Dict[str, Optional[float]]:
    """Precision and recall of pseudo-boxes against the removed boxes, over images.

    Args:
        pseudo (Sequence[np.ndarray]): Per image, (P, 4) xyxy pseudo-boxes.
        removed (Sequence[np.ndarray]): Per image (the same order), (R, 4) xyxy removed boxes.
        iou_thr (float): IoU from which a pseudo-box is on a removed box.

    Returns:
        dict: ``images``, ``pseudo_boxes``, ``removed_boxes``, ``pseudo_on_removed`` (the
        pseudo-boxes on some removed box), ``removed_found`` (the removed boxes some pseudo-box
        is on), ``precision`` (``pseudo_on_removed / pseudo_boxes``) and ``recall``
        (``removed_found / removed_boxes``), None where nothing divides, and ``iou_thr``.

    Raises:
        ValueError: When the two sequences differ in length.
    """
    if len(pseudo) != len(removed):
        raise ValueError(f'pseudo_box_quality: {len(pseudo)} images of pseudo-boxes, '
                         f'{len(removed)} of removed boxes')
    counts = dict(pseudo_boxes=0, removed_boxes=0, pseudo_on_removed=0, removed_found=0)
    for boxes, truth in zip(pseudo, removed):
        boxes = torch.as_tensor(np.asarray(boxes, dtype=np.float32)).view(-1, 4)
        truth = torch.as_tensor(np.asarray(truth, dtype=np.float32)).view(-1, 4)
        counts['pseudo_boxes'] += len(boxes)
        count_removed_hits(counts, boxes, truth, iou_thr)
    return dict(
        images=len(pseudo), **counts,
        precision=(counts['pseudo_on_removed'] / counts['pseudo_boxes']
                   if counts['pseudo_boxes'] else None),
        recall=(counts['removed_found'] / counts['removed_boxes']
                if counts['removed_boxes'] else None),
        iou_thr=iou_thr)
