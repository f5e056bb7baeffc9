"""Smooth random fields: the low-frequency variation of tissue, stroma and cell density."""
import cv2
import numpy as np


def smooth_noise(rng: np.random.Generator, shape: tuple, period: float) -> np.ndarray:
    """Low-frequency noise with unit standard deviation.

    Args:
        rng: Random generator.
        shape: Output (h, w).
        period: Feature size in pixels: a coarse random grid of that spacing is upsampled
            with bicubic interpolation.

    Returns:
        np.ndarray: (h, w) float32.
    """
    h, w = shape
    gh, gw = int(np.ceil(h / period)) + 3, int(np.ceil(w / period)) + 3
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    big = cv2.resize(grid, (int(gw * period), int(gh * period)), interpolation=cv2.INTER_CUBIC)
    oy, ox = int(period), int(period)
    out = big[oy:oy + h, ox:ox + w]
    return (out - out.mean()) / (out.std() + 1e-6)
