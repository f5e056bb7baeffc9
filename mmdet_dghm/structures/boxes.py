"""Measures of ``(x1, y1, x2, y2)`` boxes: area, and overlap over the smaller box."""
import numpy as np


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of ``(..., 4)`` xyxy boxes (negative extents count as zero)."""
    return (np.clip(boxes[..., 2] - boxes[..., 0], 0, None) *
            np.clip(boxes[..., 3] - boxes[..., 1], 0, None))


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
