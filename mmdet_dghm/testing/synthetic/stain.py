"""H&E staining: per-slide stain vectors, and stain optical density turned into RGB.

Images are painted in optical-density (OD) space, one channel per stain (haematoxylin,
eosin) plus a grain channel, and converted to RGB with Beer-Lambert's law
``I = I_0 * exp(-(OD_H * v_H + OD_E * v_E))``.
"""
from dataclasses import dataclass

import cv2
import numpy as np

# Ruifrok & Johnston's H&E optical-density vectors (RGB order), perturbed per slide.
_H_VEC = np.array([0.62, 0.68, 0.40])
_E_VEC = np.array([0.07, 0.99, 0.11])


@dataclass(frozen=True)
class StainStyle:
    """Per-slide staining: unit OD vectors (RGB), stain gains and the white level."""

    h_vec: np.ndarray
    e_vec: np.ndarray
    h_gain: float
    e_gain: float
    white: np.ndarray

    def jitter(self, rng: np.random.Generator) -> 'StainStyle':
        """Small per-image variation of the slide's stain gains and white level."""
        return StainStyle(self.h_vec, self.e_vec,
                          self.h_gain * rng.uniform(0.93, 1.07),
                          self.e_gain * rng.uniform(0.93, 1.07),
                          np.clip(self.white + rng.normal(0, 2, 3), 200, 255))


def sample_stain(rng: np.random.Generator) -> StainStyle:
    """Draws a slide's stain style around the standard H&E vectors."""
    h_vec = np.abs(_H_VEC + rng.normal(0, 0.06, 3))
    e_vec = np.abs(_E_VEC + rng.normal(0, 0.06, 3))
    white = np.array([242.0, 232.0, 242.0]) + rng.uniform(-8, 8, 3)
    return StainStyle(h_vec / np.linalg.norm(h_vec), e_vec / np.linalg.norm(e_vec),
                      float(rng.uniform(0.8, 1.25)), float(rng.uniform(0.75, 1.3)),
                      np.clip(white, 200, 255))


def od_to_rgb(rng: np.random.Generator, od: np.ndarray, stain: StainStyle,
              u: float) -> np.ndarray:
    """Stains and scans stain OD (h, w, 3): Beer-Lambert RGB uint8 with grain and noise.

    Channel 2 of ``od`` scales a fine grain that modulates both stains; the stains are
    blurred by the optics (``0.025 u``) and the sensor adds Gaussian noise.

    Args:
        rng: Random generator.
        od: Haematoxylin OD, eosin OD and grain strength (h, w, 3) float32.
        stain: Stain style of the image.
        u: Length unit (the SRC box median) in pixels.

    Returns:
        np.ndarray: RGB image (h, w, 3) uint8.
    """
    grain = cv2.GaussianBlur(rng.standard_normal(od.shape[:2], dtype=np.float32), (0, 0),
                             max(0.5, 0.02 * u)) * 1.5
    blur = max(0.5, 0.025 * u)
    mod = np.clip(1 + od[..., 2] * grain, 0.2, None)
    h_od = cv2.GaussianBlur(od[..., 0] * mod, (0, 0), blur) * np.float32(stain.h_gain)
    e_od = cv2.GaussianBlur(od[..., 1] * mod, (0, 0), blur) * np.float32(stain.e_gain)
    total = (h_od[..., None] * stain.h_vec.astype(np.float32)
             + e_od[..., None] * stain.e_vec.astype(np.float32))
    rgb = (np.exp(-total) * stain.white.astype(np.float32)
           + rng.standard_normal(total.shape, dtype=np.float32) * np.float32(2.0))
    return np.clip(rgb, 0, 255).astype(np.uint8)
