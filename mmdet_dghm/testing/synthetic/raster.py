"""Sub-pixel filled ellipses on float images, the one drawing primitive of the generator."""
from typing import Sequence

import cv2
import numpy as np

from .geometry import CellGeometry

# cv2 drawing takes fixed-point coordinates: 4 fractional bits give sub-pixel shapes.
_SHIFT = 4
_ONE = 1 << _SHIFT


def _fx(v: float) -> int:
    return int(round(v * _ONE))


def draw_ellipse(img: np.ndarray, cx: float, cy: float, a: float, b: float, angle: float,
                 value: Sequence[float], thickness: int = -1) -> None:
    """One ellipse of semi-axes ``a, b`` (at least 1/16 px), filled unless ``thickness > 0``."""
    cv2.ellipse(img, (_fx(cx), _fx(cy)), (max(_fx(a), 1), max(_fx(b), 1)), float(angle),
                0, 360, tuple(float(v) for v in value), thickness, cv2.LINE_8, _SHIFT)


def draw_ellipses(img: np.ndarray, geo: CellGeometry, values: np.ndarray) -> None:
    """Filled ellipses, ``values`` (N, C) per ellipse; only the cv2 calls are looped."""
    centres = np.round(np.stack([geo.cx, geo.cy], 1) * _ONE).astype(np.int64).tolist()
    axes = np.maximum(np.round(np.stack([geo.a, geo.b], 1) * _ONE), 1).astype(np.int64).tolist()
    angles = np.asarray(geo.angle, np.float64).tolist()
    colours = np.asarray(values, np.float64).tolist()
    for c, ax, ang, col in zip(centres, axes, angles, colours):
        cv2.ellipse(img, c, ax, ang, 0, 360, col, -1, cv2.LINE_8, _SHIFT)
