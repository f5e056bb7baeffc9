"""Windows over large images: cutting them (paper Sec. 4.2) and stitching their predictions.

The paper decomposes each whole image into ``800 x 800`` patches with a stride of 300 px at 40x.
These pure functions compute the windows and decide, per window, which boxes are ground truth
(enough of the box visible), which are ignored (only a sliver visible) and which are absent.
"""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.ops import nms


def window_starts(length: int, size: int, stride: int) -> np.ndarray:
    """Start offsets of 1-D sliding windows covering ``[0, length)``.

    Windows start every ``stride`` pixels; the last one is snapped to the edge
    (``length - size``) so every pixel is covered and no window leaves the image. An axis
    shorter than the window gets a single window starting at 0 (the caller clamps its size).

    Args:
        length (int): Image extent along the axis, in pixels.
        size (int): Window extent, in pixels.
        stride (int): Step between consecutive window starts, ``0 < stride <= size``.

    Returns:
        np.ndarray: ``(N,)`` int64 sorted unique start offsets.

    Raises:
        ValueError: If ``length``/``size`` are not positive or ``stride`` is outside
            ``(0, size]`` (a larger stride would leave uncovered gaps).
    """
    if length <= 0 or size <= 0:
        raise ValueError(f'window_starts: length={length} and size={size} must be positive')
    if not 0 < stride <= size:
        raise ValueError(
            f'window_starts: stride={stride} must be in (0, size={size}]; a stride above the '
            'window size leaves pixels uncovered')
    if length <= size:
        return np.zeros(1, dtype=np.int64)
    last = length - size
    starts = np.arange(0, last, stride, dtype=np.int64)
    return np.append(starts, last)


def sliding_windows(width: int, height: int, size: int, stride: int) -> np.ndarray:
    """2-D sliding windows covering a ``width x height`` image.

    Args:
        width (int): Image width.
        height (int): Image height.
        size (int): Square window side; clamped to the image on axes shorter than it.
        stride (int): Step between windows, ``0 < stride <= size``.

    Returns:
        np.ndarray: ``(N, 4)`` int64 windows ``(x1, y1, x2, y2)``, row-major (y then x).
    """
    xs = window_starts(width, size, stride)
    ys = window_starts(height, size, stride)
    grid_y, grid_x = np.meshgrid(ys, xs, indexing='ij')
    x1 = grid_x.ravel()
    y1 = grid_y.ravel()
    return np.stack(
        [x1, y1, np.minimum(x1 + size, width), np.minimum(y1 + size, height)], axis=1)


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of ``(..., 4)`` xyxy boxes (negative extents count as zero)."""
    return (np.clip(boxes[..., 2] - boxes[..., 0], 0, None) *
            np.clip(boxes[..., 3] - boxes[..., 1], 0, None))


def clip_boxes_to_windows(boxes: np.ndarray,
                          windows: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Clip every box to every window.

    Args:
        boxes (np.ndarray): ``(K, 4)`` xyxy boxes in image coordinates.
        windows (np.ndarray): ``(N, 4)`` xyxy windows in the same coordinates.

    Returns:
        tuple: ``clipped`` ``(N, K, 4)`` float32 boxes in *window* coordinates (origin at the
        window's top-left) and ``visible`` ``(N, K)`` float32 fraction of each box's area that
        lies inside each window (0 for boxes outside it).
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    windows = np.asarray(windows, dtype=np.float32).reshape(-1, 4)
    lo = windows[:, None, :2]
    hi = windows[:, None, 2:]
    top_left = np.clip(boxes[None, :, :2], lo, hi)
    bottom_right = np.clip(boxes[None, :, 2:], lo, hi)
    clipped = np.concatenate([top_left - lo, bottom_right - lo], axis=-1)
    full = box_areas(boxes)[None, :]
    visible = np.divide(box_areas(clipped), full, out=np.zeros_like(clipped[..., 0]),
                        where=full > 0)
    return clipped, visible


def split_visible(visible: np.ndarray, min_visible: float) -> Tuple[np.ndarray, np.ndarray]:
    """Classify boxes of a window as ground truth or ignored from their visible fraction.

    A box cut by the window border is ground truth only where at least ``min_visible`` of its
    area is inside; a smaller, non-empty sliver is kept but flagged ignored (mmdet's
    ``ignore_flag``) so it is neither a positive nor a negative target.

    Args:
        visible (np.ndarray): Visible fractions in ``[0, 1]``, any shape.
        min_visible (float): Threshold in ``(0, 1]``.

    Returns:
        tuple: ``present`` (visible > 0) and ``ignored`` (present and below the threshold)
        boolean arrays of the same shape.
    """
    present = visible > 0
    return present, present & (visible < min_visible)


def _axis_cores(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``(N, 2)`` core ``[lo, hi)`` of 1-D windows: split at the middle of each overlap."""
    unique, index = np.unique(starts, return_inverse=True)
    unique_ends = np.zeros(len(unique), np.float64)
    unique_ends[index] = ends
    middles = (unique_ends[:-1] + unique[1:]) / 2
    lo = np.concatenate([[-np.inf], middles])
    hi = np.concatenate([middles, [np.inf]])
    return np.stack([lo[index], hi[index]], axis=1)


def window_cores(windows: np.ndarray) -> np.ndarray:
    """The core of each window of a :func:`sliding_windows` grid: the part nearer its own
    centre than any neighbour's (overlaps split at their middle; outer sides unbounded).

    The cores tile the plane, so every point lies in exactly one core. Keeping each box only
    from the window whose core holds its centre keeps one box per object across a seam even
    when the two windows' boxes of it disagree too much to be suppressed.

    Args:
        windows (np.ndarray): ``(N, 4)`` xyxy windows of one grid (windows sharing a start
            share an end).

    Returns:
        np.ndarray: ``(N, 4)`` float64 cores ``(x1, y1, x2, y2)``, ``inf`` on the outer sides.
    """
    windows = np.asarray(windows, np.float64).reshape(-1, 4)
    xs = _axis_cores(windows[:, 0], windows[:, 2])
    ys = _axis_cores(windows[:, 1], windows[:, 3])
    return np.stack([xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], axis=1)


def intersection_over_smaller(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection of boxes with others over the smaller of the two areas, broadcast.

    A box lying wholly inside a larger one scores 1 whatever their size ratio, which IoU does
    not: a cell cut by a window edge gives a partial box inside the whole one of the next
    window with an IoU of about the visible fraction, but an intersection over the smaller of 1.

    Args:
        boxes (np.ndarray): ``(..., 4)`` xyxy boxes, e.g. ``(4, )`` or ``(K, 4)``.
        others (np.ndarray): ``(..., 4)`` xyxy boxes broadcasting against ``boxes``.

    Returns:
        np.ndarray: float32 values in ``[0, 1]`` of the broadcast shape (0 where a box is
        empty).
    """
    top_left = np.maximum(boxes[..., :2], others[..., :2])
    bottom_right = np.minimum(boxes[..., 2:], others[..., 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=-1)
    smaller = np.minimum(box_areas(boxes), box_areas(others))
    return np.divide(inter, smaller, out=np.zeros_like(inter, dtype=np.float32),
                     where=smaller > 0).astype(np.float32)


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
