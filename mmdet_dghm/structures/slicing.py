"""Cutting large images into windows (paper Sec. 4.2), and each box's share of each window.

The paper decomposes each whole image into ``800 x 800`` patches with a stride of 300 px at 40x.
These pure functions compute the windows, the core each window owns in its grid, and decide, per
window, which boxes are ground truth (enough of the box visible), which are ignored (only a
sliver visible) and which are absent. Merging the windows' predictions back is
:mod:`.merging`'s.
"""
from typing import Tuple

import numpy as np

from .boxes import box_areas


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
