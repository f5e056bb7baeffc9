"""One synthetic H&E image: the placing and painting steps in their fixed order.

The order of the steps is the order of the draws from the image's generator, so it fixes
the image for a seed: placing a kind of cell comes before painting it, and later kinds are
kept clear of the discs of earlier ones.
"""
from typing import Optional

import numpy as np

from .geometry import CellGeometry
from .painting import (
    paint_background,
    paint_eosinophils,
    paint_glands,
    paint_lymphocytes,
    paint_normal_cells,
    paint_src,
    paint_vacuoles,
)
from .placing import (
    footprint,
    place_eosinophils,
    place_glands,
    place_lymphocytes,
    place_mimics,
    place_normal_cells,
    place_src,
    place_vacuoles,
    tissue_maps,
)
from .stain import StainStyle, od_to_rgb

#: Nucleus density of an SRC mimic relative to an SRC's: a fainter crescent.
MIMIC_NUCLEUS_SCALE = 0.8


def render_cell_types(rng: np.random.Generator, image_size: tuple, stain: StainStyle,
                      positive: bool, box_median: float = 28.0, box_log_sigma: float = 0.27,
                      src_coverage: tuple = (0.04, 0.2), cluster_share: tuple = (0.3, 0.8),
                      lookalike_density: float = 1.0,
                      eosinophil_coverage: Optional[tuple] = None,
                      mimic_coverage: Optional[tuple] = None) -> tuple:
    """Paints one H&E-like image; SRCs (positive only) and eosinophils get tight boxes.

    Args:
        rng: Random generator (the only source of randomness).
        image_size: (h, w) in pixels.
        stain: Stain style of the image's slide.
        positive: Whether to paint SRCs.
        box_median: Median SRC box size ``sqrt(w * h)`` in pixels at this image's scale.
        box_log_sigma: Log-normal spread of SRC box sizes.
        src_coverage: Range of the share of the image area covered by SRC boxes (drawn per
            image; the real half-scale set has about 9 percent annotated, median).
        cluster_share: Range of the share of SRCs placed in crowded clusters; the others
            are scattered over the tissue.
        lookalike_density: Multiplier on the number of look-alikes (normal cells,
            lymphocytes, vacuoles).
        eosinophil_coverage: Range of the share of the image area covered by eosinophil
            boxes (drawn per image, positive or not; boxes 0.8 x the SRC size). None draws
            none and leaves every other draw, so the image, unchanged.
        mimic_coverage: Range of the share of the image area covered by unannotated SRC
            mimics (drawn per image, positive or not): SRC-sized mucin cells with a fainter
            crescent (:func:`paint_src` at :data:`MIMIC_NUCLEUS_SCALE` of the nucleus
            density). None draws none and leaves the image unchanged.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: RGB image (h, w, 3) uint8, boxes (N, 4)
        float64 xyxy clipped to the image, and their labels (N,) int64: 0 SRC, 1 eosinophil.
    """
    h, w = image_size
    u = float(box_median)
    tissue, cellular = tissue_maps(rng, (h, w), u)
    od = paint_background(rng, tissue, cellular, u)
    glands, band = place_glands(rng, tissue * (1 - cellular), u, positive)
    paint_glands(od, rng, glands, band, u)
    # Nothing else is placed inside a gland: cells there would read as SRCs in a lumen.
    free = 1 - footprint((h, w), glands, band)
    tissue, cellular = tissue * free, cellular * free

    src = CellGeometry.empty()
    if positive:
        src = place_src(rng, u, box_log_sigma, cellular, tissue, src_coverage, cluster_share)
    occupied = src.discs()
    eos = CellGeometry.empty()
    if eosinophil_coverage is not None:
        eos = place_eosinophils(rng, tissue, u, box_log_sigma, eosinophil_coverage, occupied)
        occupied = np.concatenate([occupied, eos.discs()])
    mimics = CellGeometry.empty()
    if mimic_coverage is not None:
        mimics = place_mimics(rng, tissue, u, box_log_sigma, mimic_coverage, occupied)
        occupied = np.concatenate([occupied, mimics.discs()])
    vacuoles = place_vacuoles(rng, tissue, u, lookalike_density, occupied)
    occupied = np.concatenate([occupied, vacuoles.discs()])
    cells = place_normal_cells(rng, cellular, tissue, u, lookalike_density, occupied)
    paint_normal_cells(od, rng, cells)
    # Lymphocytes avoid the SRCs, eosinophils and vacuoles but may overlap normal cells.
    lymphocytes = place_lymphocytes(rng, tissue, u, lookalike_density, occupied)
    paint_lymphocytes(od, rng, lymphocytes)
    paint_vacuoles(od, rng, vacuoles)
    paint_src(od, rng, src)
    if mimic_coverage is not None:
        paint_src(od, rng, mimics, nucleus_scale=MIMIC_NUCLEUS_SCALE)
    if eosinophil_coverage is not None:
        paint_eosinophils(od, rng, eos)

    rgb = od_to_rgb(rng, od, stain, u)
    boxes = np.concatenate([src.boxes(), eos.boxes()])
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, w)
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, h)
    labels = np.repeat(np.array([0, 1], dtype=np.int64), [len(src), len(eos)])
    return rgb, boxes, labels


def render_image(rng: np.random.Generator, image_size: tuple, stain: StainStyle,
                 positive: bool, box_median: float = 28.0, box_log_sigma: float = 0.27,
                 src_coverage: tuple = (0.04, 0.2), cluster_share: tuple = (0.3, 0.8),
                 lookalike_density: float = 1.0,
                 mimic_coverage: Optional[tuple] = None) -> tuple:
    """Paints one H&E-like image; SRCs (positive only) come with tight boxes.

    :func:`render_cell_types` without eosinophils; see it for the arguments.

    Returns:
        tuple[np.ndarray, np.ndarray]: RGB image (h, w, 3) uint8 and boxes (N, 4) float64
        xyxy, clipped to the image (N = 0 for negatives).
    """
    rgb, boxes, _ = render_cell_types(rng, image_size, stain, positive, box_median,
                                      box_log_sigma, src_coverage, cluster_share,
                                      lookalike_density, mimic_coverage=mimic_coverage)
    return rgb, boxes
