"""Merging the predictions of overlapping windows into one set for the whole image.

Neighbouring windows overlap, so an object in the overlap is predicted once per window, and an
object cut by a window edge gives a partial box there. :func:`merge_tile_predictions` shifts each
window's boxes by its origin, optionally keeps each box only from the window whose core holds its
centre (:func:`.slicing.window_cores`), and suppresses duplicates by IoU or by the intersection
over the smaller box (:func:`ios_nms`; sahi's ``postprocess`` match metric 'IOS').
"""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.ops import nms

from .boxes import intersection_over_smaller


def ios_nms(bboxes: np.ndarray, scores: np.ndarray,
            ios_thr: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """Greedy non-maximum suppression by intersection over the smaller box.

    Boxes are visited by descending score; a box is kept unless more than ``ios_thr`` of the
    smaller of it and an already kept box is their intersection. A box lying wholly inside
    another scores 1 whatever their size ratio, which IoU does not: the partial box of a cell
    cut by a window edge and the whole box of the next window are one detection here (IoU-NMS
    keeps both). No two returned boxes overlap by more than ``ios_thr`` of the smaller, so for
    ``ios_thr < 0.8`` none lies mostly inside another. Kept boxes keep their coordinates: they
    do not grow into unions (sahi's greedy merging), which can snowball over a crowd of boxes.

    IoU never exceeds the intersection over the smaller box, so mmcv's IoU-NMS at the same
    threshold first drops (in compiled code) boxes this suppression drops too, but for a box
    whose suppressor is itself dropped. The rest is one Python iteration per kept box (greedy
    suppression is sequential), each comparing the box with its x-neighbours only (boxes
    sorted by ``x1``, the slice that can overlap it), so it costs ``O(N log N + N * k)`` for
    ``k`` overlapping neighbours, not ``N^2`` memory.

    Args:
        bboxes (np.ndarray): ``(N, 4)`` xyxy boxes.
        scores (np.ndarray): ``(N, )`` scores.
        ios_thr (float): Intersection over the smaller box above which two boxes are one
            object, in ``[0, 1)``. Defaults to 0.5.

    Returns:
        Tuple[np.ndarray, np.ndarray]: Kept ``(M, 4)`` float32 boxes and ``(M, )`` float32
        scores, by descending score.
    """
    if not 0 <= ios_thr < 1:
        raise ValueError(f'ios_nms: ios_thr={ios_thr} must be in [0, 1)')
    bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4)
    scores = np.asarray(scores, np.float32).reshape(-1)
    if len(bboxes) != len(scores):
        raise ValueError(f'ios_nms: {len(bboxes)} boxes but {len(scores)} scores')
    if len(bboxes) == 0:
        return bboxes, scores
    dets, _ = nms(torch.from_numpy(bboxes), torch.from_numpy(scores), ios_thr)
    dets = dets.numpy()  # by descending score: a box's index is its rank
    bboxes, scores = np.ascontiguousarray(dets[:, :4]), np.ascontiguousarray(dets[:, 4])
    by_x = np.argsort(bboxes[:, 0], kind='stable')
    sorted_x1 = bboxes[by_x, 0]
    widest = float((bboxes[:, 2] - bboxes[:, 0]).max())
    suppressed = np.zeros(len(bboxes), dtype=bool)
    for index in range(len(bboxes)):  # by descending score
        if suppressed[index]:
            continue
        box = bboxes[index]
        lo = np.searchsorted(sorted_x1, box[0] - widest, side='left')
        hi = np.searchsorted(sorted_x1, box[2], side='right')
        near = by_x[lo:hi]
        near = near[(near > index) & ~suppressed[near]]
        suppressed[near[intersection_over_smaller(box, bboxes[near]) > ios_thr]] = True
    return bboxes[~suppressed], scores[~suppressed]


def merge_tile_predictions(bboxes: Sequence[np.ndarray], scores: Sequence[np.ndarray],
                           origins: Sequence[Tuple[float, float]],
                           nms_iou_thr: float = 0.5,
                           ios_thr: Optional[float] = None,
                           cores: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Shift tile predictions into source-image coordinates and merge them.

    Neighbouring tiles overlap, so a cell in the overlap is detected once per tile. Two merges:

    - ``ios_thr=None`` (the default): NMS at ``nms_iou_thr`` over the union. A single sample
      (a whole image) is returned as predicted: NMS is the detector's job, repeating it would
      change its output. A cell cut by a tile edge keeps both its partial box and its whole
      box from the next tile (their IoU is about the visible fraction).
    - ``ios_thr`` set: :func:`ios_nms`, suppression by intersection over the smaller box, on
      one tile as on many, so a partial box and the whole one are one detection and the count
      of an image does not depend on how it is tiled (``nms_iou_thr`` is then unused).

    Args:
        bboxes (Sequence[np.ndarray]): Per tile, (N_i, 4) xyxy boxes in tile coordinates.
        scores (Sequence[np.ndarray]): Per tile, (N_i,) scores.
        origins (Sequence[Tuple[float, float]]): Per tile, its top-left (x, y) in the source
            image.
        nms_iou_thr (float): IoU above which the lower-scored of two boxes is dropped.
            Defaults to 0.5.
        ios_thr (float, optional): Intersection over the smaller box above which the
            lower-scored box is dropped (see :func:`ios_nms`). Defaults to None (NMS by IoU).
        cores (np.ndarray, optional): Per tile, its ``(x1, y1, x2, y2)`` core in the source
            image (:func:`window_cores`); a box is kept only from the tile whose core holds
            its centre. Defaults to None (every box).

    Returns:
        Tuple[np.ndarray, np.ndarray]: Merged (M, 4) float32 boxes and (M,) float32 scores,
        by descending score when a merge ran.
    """
    if not len(bboxes) == len(scores) == len(origins) > 0:
        raise ValueError('merge_tile_predictions needs one (bboxes, scores, origin) per tile, '
                         f'got {len(bboxes)}, {len(scores)}, {len(origins)}')
    shifted = [np.asarray(b, np.float32).reshape(-1, 4) + np.tile(np.asarray(o, np.float32), 2)
               for b, o in zip(bboxes, origins)]
    all_bboxes = np.concatenate(shifted)
    all_scores = np.concatenate([np.asarray(s, np.float32).reshape(-1) for s in scores])
    if len(all_bboxes) != len(all_scores):
        raise ValueError(f'{len(all_bboxes)} boxes but {len(all_scores)} scores over the tiles')
    if cores is not None:
        own = np.repeat(np.asarray(cores, np.float64).reshape(-1, 4), [len(b) for b in shifted],
                        axis=0)
        centres = (all_bboxes[:, :2] + all_bboxes[:, 2:]) / 2
        inside = ((centres >= own[:, :2]) & (centres < own[:, 2:])).all(axis=1)
        all_bboxes, all_scores = all_bboxes[inside], all_scores[inside]
    if ios_thr is not None:
        return ios_nms(all_bboxes, all_scores, ios_thr)
    if len(bboxes) == 1 or len(all_bboxes) == 0:
        return all_bboxes, all_scores
    dets, _ = nms(torch.from_numpy(all_bboxes), torch.from_numpy(all_scores), nms_iou_thr)
    dets = dets.numpy()
    return np.ascontiguousarray(dets[:, :4]), np.ascontiguousarray(dets[:, 4])
