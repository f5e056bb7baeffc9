"""Where the tissue is: a low-resolution mask from a thumbnail, as slide toolkits compute it.

Stained tissue is coloured, glass is grey or white: Otsu's threshold on the thumbnail's HSV
saturation separates the two, and a floor (``min_saturation``) keeps faint glass, dust and
pen strokes below it background even when Otsu, on a slide that is nearly all glass, would
split inside the glass; a ceiling (:data:`MAX_SATURATION`) keeps all stained tissue foreground
when Otsu, on a slide that is nearly all tissue, would split inside the tissue. The mask is
coarser than a cell (:data:`MIN_MASK_PIXEL`), so pale vacuoles are no holes in it. Windows with
no tissue are skipped, and boxes whose centre lies on background are dropped.
"""
from dataclasses import dataclass

import cv2
import numpy as np

# Saturation (0-255) below which a pixel is background whatever Otsu says: glass and faint
# smudges sit below about 20; the palest eosin of H&E above 30.
MIN_SATURATION = 25
# Saturation above which a pixel is tissue whatever Otsu says: on a slide that is all tissue,
# Otsu splits the tissue itself (pale stroma from dense nuclei); any H&E stain is above this.
MAX_SATURATION = 40
# Image pixels per mask pixel, at least: coarser than a cell, so the pale vacuole of a signet
# ring cell (or a lumen) averages with the stained tissue around it instead of being a hole.
MIN_MASK_PIXEL = 16


def otsu_saturation_threshold(thumbnail: np.ndarray, min_saturation: int = MIN_SATURATION) -> int:
    """Saturation threshold of a BGR uint8 thumbnail: Otsu's, but never below the floor nor
    above :data:`MAX_SATURATION` (Otsu splits inside the tissue of a slide without glass).

    Args:
        thumbnail (np.ndarray): ``(H, W, 3)`` BGR uint8 image.
        min_saturation (int): Floor of the threshold, in ``[0, 255]``. Defaults to 25.

    Returns:
        int: Pixels with saturation strictly above it are tissue.
    """
    if thumbnail.ndim != 3 or thumbnail.shape[2] != 3 or thumbnail.dtype != np.uint8:
        raise ValueError(f'thumbnail must be (H, W, 3) uint8 BGR, got {thumbnail.shape} '
                         f'{thumbnail.dtype}')
    if not 0 <= min_saturation <= 255:
        raise ValueError(f'min_saturation={min_saturation} must be in [0, 255]')
    saturation = cv2.cvtColor(thumbnail, cv2.COLOR_BGR2HSV)[..., 1]
    otsu, _ = cv2.threshold(saturation, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return max(min(int(otsu), MAX_SATURATION), int(min_saturation))


@dataclass
class TissueMask:
    """A boolean tissue mask of a thumbnail and its scale to the image.

    Attributes:
        mask (np.ndarray): ``(h, w)`` bool, True on tissue.
        factor (float): Thumbnail pixels per image pixel (``<= 1``).
    """

    mask: np.ndarray
    factor: float

    @classmethod
    def from_thumbnail(cls, thumbnail: np.ndarray, factor: float,
                       min_saturation: int = MIN_SATURATION) -> 'TissueMask':
        """Threshold a BGR thumbnail (see :func:`otsu_saturation_threshold`).

        The thumbnail is first averaged down to at least :data:`MIN_MASK_PIXEL` image pixels
        per mask pixel. A 3 x 3 opening removes isolated specks (noise on a pen stroke or
        dust) and a 3 x 3 closing fills single-pixel holes, so that tissue is regions, not a
        speckle.
        """
        if factor * MIN_MASK_PIXEL > 1:
            shrink = 1 / (factor * MIN_MASK_PIXEL)
            size = (max(1, round(thumbnail.shape[1] * shrink)),
                    max(1, round(thumbnail.shape[0] * shrink)))
            factor *= size[0] / thumbnail.shape[1]
            thumbnail = cv2.resize(thumbnail, size, interpolation=cv2.INTER_AREA)
        saturation = cv2.cvtColor(thumbnail, cv2.COLOR_BGR2HSV)[..., 1]
        threshold = otsu_saturation_threshold(thumbnail, min_saturation)
        mask = (saturation > threshold).astype(np.uint8)
        kernel = np.ones((3, 3), np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
        return cls(mask=mask.astype(bool), factor=float(factor))

    def for_view(self, to_level0: float) -> 'TissueMask':
        """The same mask for coordinates in pixels of a view ``to_level0`` image pixels wide
        (an :class:`~mmdet_dghm.fileio.ImageReader`'s ``to_level0``): windows and boxes of a
        resampled view are then looked up without mapping them to the image first."""
        return TissueMask(mask=self.mask, factor=self.factor * float(to_level0))

    def _to_mask_pixels(self, coords: np.ndarray) -> np.ndarray:
        """Image coordinates to mask indices (floor), clipped to the mask."""
        scaled = np.floor(np.asarray(coords, np.float64) * self.factor).astype(np.int64)
        limits = np.array([self.mask.shape[1], self.mask.shape[0]] * (scaled.shape[-1] // 2))
        return np.clip(scaled, 0, limits)

    def window_fractions(self, windows: np.ndarray) -> np.ndarray:
        """Share of each ``(x1, y1, x2, y2)`` window (image pixels) that is tissue.

        Vectorised with a summed-area table of the mask; a window thinner than one mask pixel
        reads the mask pixel it lies in.

        Returns:
            np.ndarray: ``(N, )`` float64 fractions in ``[0, 1]``.
        """
        windows = np.asarray(windows).reshape(-1, 4)
        table = cv2.integral(self.mask.astype(np.uint8))  # (h + 1, w + 1) int32
        x1, y1, x2, y2 = self._to_mask_pixels(windows).T
        x2 = np.maximum(np.ceil(windows[:, 2] * self.factor).astype(np.int64), x1 + 1)
        y2 = np.maximum(np.ceil(windows[:, 3] * self.factor).astype(np.int64), y1 + 1)
        x2 = np.minimum(x2, self.mask.shape[1])
        y2 = np.minimum(y2, self.mask.shape[0])
        x1, y1 = np.minimum(x1, x2 - 1), np.minimum(y1, y2 - 1)
        inside = table[y2, x2] - table[y1, x2] - table[y2, x1] + table[y1, x1]
        return inside / ((x2 - x1) * (y2 - y1))

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each ``(x, y)`` image point lies on tissue: ``(N, )`` bool."""
        points = np.asarray(points, np.float64).reshape(-1, 2)
        cols, rows = self._to_mask_pixels(points).T
        cols = np.minimum(cols, self.mask.shape[1] - 1)
        rows = np.minimum(rows, self.mask.shape[0] - 1)
        return self.mask[rows, cols]

    @property
    def tissue_fraction(self) -> float:
        """Share of the image that is tissue."""
        return float(self.mask.mean()) if self.mask.size else 0.0

    def tissue_area_pixels(self, width: int, height: int) -> float:
        """Tissue area in image pixels of a ``width x height`` image."""
        return self.tissue_fraction * width * height
