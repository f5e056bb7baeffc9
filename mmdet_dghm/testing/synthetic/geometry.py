"""Cells as rotated ellipses: their sizes, shapes and tight boxes."""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CellGeometry:
    """Ellipses ``(cx, cy, a, b, angle_deg)`` in pixels, one row per cell."""

    cx: np.ndarray
    cy: np.ndarray
    a: np.ndarray
    b: np.ndarray
    angle: np.ndarray

    @classmethod
    def empty(cls) -> 'CellGeometry':
        """No cell."""
        return cls(*(np.zeros(0),) * 5)

    def __len__(self) -> int:
        return len(self.cx)

    def boxes(self) -> np.ndarray:
        """Tight axis-aligned boxes (N, 4) xyxy around the rotated ellipses."""
        t = np.deg2rad(self.angle)
        hx = np.sqrt((self.a * np.cos(t)) ** 2 + (self.b * np.sin(t)) ** 2)
        hy = np.sqrt((self.a * np.sin(t)) ** 2 + (self.b * np.cos(t)) ** 2)
        return np.stack([self.cx - hx, self.cy - hy, self.cx + hx, self.cy + hy], axis=1)

    def discs(self) -> np.ndarray:
        """Enclosing discs (N, 3) ``x, y, r`` with ``r = max(a, b)``, as placing keeps clear."""
        return np.stack([self.cx, self.cy, np.maximum(self.a, self.b)], axis=1)


def lognormal_box_sizes(rng: np.random.Generator, n: int, median: float,
                        log_sigma: float) -> np.ndarray:
    """Box sizes ``sqrt(w * h)`` of SRCs, log-normal and clipped to [0.5, 2.2] x median.

    At 40x DigestPath2019's SRC boxes have median 56 px and 5-95 percentiles of about
    37-92 px (half scale: 28 and 19-43 px), which ``median=56, log_sigma=0.27`` reproduces.
    """
    sizes = median * np.exp(rng.normal(0.0, log_sigma, n))
    return np.clip(sizes, 0.5 * median, 2.2 * median)


def sample_ellipses(rng: np.random.Generator, cx: np.ndarray, cy: np.ndarray,
                    sizes: np.ndarray, aspect_sigma: float = 0.3) -> CellGeometry:
    """Randomly oriented ellipses whose tight box has ``sqrt(w * h) == sizes``.

    The axis ratio is log-normal with ``aspect_sigma``; the axes are then rescaled so the
    rotated ellipse's box (not the ellipse) meets the requested size.
    """
    n = len(cx)
    ratio = np.exp(rng.normal(0.0, aspect_sigma, n))
    angle = rng.uniform(0, 180, n)
    unit = CellGeometry(cx, cy, np.sqrt(ratio) / 2, 1 / np.sqrt(ratio) / 2, angle)
    bw, bh = (unit.boxes()[:, 2:] - unit.boxes()[:, :2]).T
    k = sizes / np.sqrt(bw * bh)
    return CellGeometry(cx, cy, unit.a * k, unit.b * k, angle)
