"""Synthetic DigestPath2019-like H&E images with signet ring cells (SRC).

The generator writes the challenge layout that :class:`DigestPathDataset` reads
(``sig-train-pos/NAME.jpeg`` + ``NAME.xml``, ``sig-train-neg/NAME.jpeg``) so that tests and
the CPU demo run without the real data (paper section 4.1 describes the real set).

Images are painted in optical-density (OD) space, one channel per stain (haematoxylin,
eosin) plus a grain channel, and converted to RGB with Beer-Lambert's law
``I = I_0 * exp(-(OD_H * v_H + OD_E * v_E))``; per-slide stain vectors and gains give the
stain variation seen between slides. Every length is a multiple of the SRC box median at
the chosen ``scale`` (40x: 56 px), so the whole image scales with the boxes.

Content: fibrous pink stroma with elongated stromal nuclei, white lumen/background,
glands, sheets of cells with central round nuclei, lymphocytes (small dark round nuclei),
empty vacuoles/fat, and, in positive images only, SRCs (a pale mucin vacuole with a dark
crescent nucleus pressed to the rim) in crowded clusters and scattered. Positive images get
a box for every SRC (complete annotation); partial annotation is simulated later by the
dataset's ``drop_rate``. :func:`render_cell_types` can add a second annotated cell type,
eosinophil-like cells (a bright pink granular cytoplasm around a dark two-lobed nucleus), for
experiments with two classes. Everything is drawn from one seed: the same arguments give the
same bytes.
"""
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

import cv2
import numpy as np
from mmengine.utils import ProgressBar

from .digestpath_layout import NEG_DIR, POS_DIR, SRC_CLASS

CLASS_NAME = SRC_CLASS

# Ruifrok & Johnston's H&E optical-density vectors (RGB order), perturbed per slide.
_H_VEC = np.array([0.62, 0.68, 0.40])
_E_VEC = np.array([0.07, 0.99, 0.11])
# cv2 drawing takes fixed-point coordinates: 4 fractional bits give sub-pixel shapes.
_SHIFT = 4
_ONE = 1 << _SHIFT


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


@dataclass(frozen=True)
class CellGeometry:
    """Ellipses ``(cx, cy, a, b, angle_deg)`` in pixels, one row per cell."""

    cx: np.ndarray
    cy: np.ndarray
    a: np.ndarray
    b: np.ndarray
    angle: np.ndarray

    def boxes(self) -> np.ndarray:
        """Tight axis-aligned boxes (N, 4) xyxy around the rotated ellipses."""
        t = np.deg2rad(self.angle)
        hx = np.sqrt((self.a * np.cos(t)) ** 2 + (self.b * np.sin(t)) ** 2)
        hy = np.sqrt((self.a * np.sin(t)) ** 2 + (self.b * np.cos(t)) ** 2)
        return np.stack([self.cx - hx, self.cy - hy, self.cx + hx, self.cy + hy], axis=1)


@dataclass(frozen=True)
class SyntheticSummary:
    """What :func:`generate_synthetic_digestpath` wrote.

    ``box_wh`` holds the width and height of every written box (N, 2), in XML order.
    """

    out_dir: Path
    pos_images: list
    neg_images: list
    box_wh: np.ndarray = field(repr=False)

    @property
    def num_boxes(self) -> int:
        return len(self.box_wh)


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


def sample_points(rng: np.random.Generator, density: np.ndarray, n: int,
                  cell: int = 4) -> tuple:
    """``n`` points distributed like the non-negative map ``density`` (h, w).

    The map is pooled on a ``cell``-pixel grid, grid cells are drawn by weight and points
    placed uniformly inside them.
    """
    h, w = density.shape
    small = cv2.resize(density.astype(np.float32), (max(w // cell, 1), max(h // cell, 1)),
                       interpolation=cv2.INTER_AREA)
    p = np.clip(small.ravel().astype(np.float64), 0, None)
    if n == 0 or p.sum() <= 0:
        return np.zeros(0), np.zeros(0)
    idx = rng.choice(p.size, size=n, p=p / p.sum())
    sy, sx = h / small.shape[0], w / small.shape[1]
    ys = (idx // small.shape[1] + rng.uniform(0, 1, n)) * sy
    xs = (idx % small.shape[1] + rng.uniform(0, 1, n)) * sx
    return xs, ys


def pack_discs(xs: np.ndarray, ys: np.ndarray, radii: np.ndarray, touch: float = 0.85,
               occupied: Optional[np.ndarray] = None) -> np.ndarray:
    """Assigns discs to candidate centres so that no two overlap too much.

    Discs are placed largest first, each at the first free candidate with room, so the
    placed sizes follow the requested distribution (a first-come greedy filter would keep
    small discs more often than large ones in crowded clusters).

    Args:
        xs, ys: Candidate centres (C,), in order of preference.
        radii: Disc radii (N,).
        touch: Two discs may be as close as ``touch * (r_i + r_j)``.
        occupied: Discs (M, 3) ``x, y, r`` already placed that new discs must avoid.

    Returns:
        np.ndarray: (N,) int64 candidate index of each disc, -1 where none had room.
    """
    # clearance[c] = min over placed discs of dist(c, disc) - touch * r_disc: a disc of
    # radius r fits at c iff clearance[c] >= touch * r.
    clearance = np.full(len(xs), np.inf)
    if occupied is not None and len(occupied):
        d = np.hypot(xs[:, None] - occupied[:, 0], ys[:, None] - occupied[:, 1])
        clearance = (d - touch * occupied[:, 2]).min(axis=1)
    free = np.ones(len(xs), bool)
    slot = np.full(len(radii), -1, dtype=np.int64)
    for i in np.argsort(-np.asarray(radii), kind='stable'):
        room = np.flatnonzero(free & (clearance >= touch * radii[i]))
        if room.size == 0:
            continue
        j = room[0]
        slot[i] = j
        free[j] = False
        np.minimum(clearance, np.hypot(xs - xs[j], ys - ys[j]) - touch * radii[i],
                   out=clearance)
    return slot


def _pack(geo: CellGeometry, xs: np.ndarray, ys: np.ndarray, touch: float,
          occupied: Optional[np.ndarray] = None) -> CellGeometry:
    """Moves the ellipses of ``geo`` onto candidate centres by :func:`pack_discs`."""
    slot = pack_discs(xs, ys, np.maximum(geo.a, geo.b), touch, occupied)
    keep = slot >= 0
    return CellGeometry(xs[slot[keep]], ys[slot[keep]], geo.a[keep], geo.b[keep],
                        geo.angle[keep])


def _fx(v: float) -> int:
    return int(round(v * _ONE))


def _ellipse(img: np.ndarray, cx: float, cy: float, a: float, b: float, angle: float,
             value: Sequence[float], thickness: int = -1) -> None:
    cv2.ellipse(img, (_fx(cx), _fx(cy)), (max(_fx(a), 1), max(_fx(b), 1)), float(angle),
                0, 360, tuple(float(v) for v in value), thickness, cv2.LINE_8, _SHIFT)


def _draw_ellipses(img: np.ndarray, geo: CellGeometry, values: np.ndarray) -> None:
    """Filled ellipses, ``values`` (N, C) per ellipse; only the cv2 calls are looped."""
    centres = np.round(np.stack([geo.cx, geo.cy], 1) * _ONE).astype(np.int64).tolist()
    axes = np.maximum(np.round(np.stack([geo.a, geo.b], 1) * _ONE), 1).astype(np.int64).tolist()
    angles = np.asarray(geo.angle, np.float64).tolist()
    colours = np.asarray(values, np.float64).tolist()
    for c, ax, ang, col in zip(centres, axes, angles, colours):
        cv2.ellipse(img, c, ax, ang, 0, 360, col, -1, cv2.LINE_8, _SHIFT)


def _stroma(rng: np.random.Generator, shape: tuple, u: float) -> np.ndarray:
    """Fibrous stroma with elongated stromal nuclei, OD (h, w, 3).

    Fibres are noise blurred along one axis on a larger canvas, then rotated and bent into
    waves by one remap, so the stromal nuclei drawn on the canvas follow the fibres.
    """
    h, w = shape
    side = int(np.ceil(np.hypot(h, w))) + 4
    canvas = np.zeros((side, side, 2), np.float32)
    noise = rng.standard_normal((side, side), dtype=np.float32)
    fib = cv2.GaussianBlur(noise, (0, 0), sigmaX=0.6 * u, sigmaY=0.05 * u + 0.4)
    canvas[..., 0] = fib / (fib.std() + 1e-6)
    n_nuc = int(rng.uniform(0.3, 0.7) * side * side / u ** 2)
    length = 0.3 * u * np.exp(rng.normal(0, 0.25, n_nuc))
    nuc = CellGeometry(rng.uniform(0, side, n_nuc), rng.uniform(0, side, n_nuc), length,
                       length * rng.uniform(0.18, 0.35, n_nuc), rng.normal(0, 12, n_nuc))
    _draw_ellipses(canvas, nuc, np.stack([np.zeros(n_nuc), rng.uniform(1.0, 1.6, n_nuc)], 1))

    theta = rng.uniform(0, np.pi)
    xx = np.arange(w, dtype=np.float32)[None, :] - w / 2
    yy = np.arange(h, dtype=np.float32)[:, None] - h / 2
    wave = 0.5 * u
    map_x = (np.float32(np.cos(theta)) * xx + np.float32(np.sin(theta)) * yy + side / 2
             + wave * smooth_noise(rng, shape, 2.5 * u))
    map_y = (np.float32(-np.sin(theta)) * xx + np.float32(np.cos(theta)) * yy + side / 2
             + wave * smooth_noise(rng, shape, 2.5 * u))
    warped = cv2.remap(canvas, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    fibres, nuclei = warped[..., 0], warped[..., 1]
    # Dense stroma is pink throughout; loose stroma keeps only the strongest fibres.
    threshold = 0.3 + 0.8 * np.clip(smooth_noise(rng, shape, 3 * u), -1, 1.5)
    strands = 1 / (1 + np.exp(-2.5 * (fibres - threshold)))
    od = np.empty((h, w, 3), np.float32)
    od[..., 1] = np.float32(rng.uniform(0.3, 0.5)) * (0.35 + 0.65 * strands) + 0.25 * nuclei
    od[..., 0] = 0.05 + 0.4 * od[..., 1] + nuclei
    od[..., 2] = 0.1
    return od


def _place_glands(rng: np.random.Generator, density: np.ndarray, n: int,
                  u: float) -> tuple:
    """Non-overlapping glands: lumen ellipses and the width of their epithelial band."""
    cx, cy = sample_points(rng, density, 2 * n)
    band = u * rng.uniform(0.6, 0.9, n)
    lumen = CellGeometry(np.zeros(n), np.zeros(n), u * rng.uniform(1.5, 3.5, n),
                         u * rng.uniform(1.0, 2.5, n), rng.uniform(0, 180, n))
    slot = pack_discs(cx, cy, np.maximum(lumen.a, lumen.b) + band, touch=0.9)
    keep = slot >= 0
    return (CellGeometry(cx[slot[keep]], cy[slot[keep]], lumen.a[keep], lumen.b[keep],
                         lumen.angle[keep]), band[keep])


def _draw_glands(img: np.ndarray, rng: np.random.Generator, lumen: CellGeometry,
                 band: np.ndarray, u: float) -> None:
    """Glands: a white lumen lined by purple epithelium with radial basal nuclei."""
    for i in range(len(lumen.cx)):
        x, y, a, b, ang = lumen.cx[i], lumen.cy[i], lumen.a[i], lumen.b[i], lumen.angle[i]
        _ellipse(img, x, y, a + band[i], b + band[i], ang, (0.55, 0.3, 0.1))
        n = int(2 * np.pi * np.hypot(a + band[i], b + band[i]) / (0.22 * u))
        t = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 0.1, n)
        ca, sa = np.cos(np.deg2rad(ang)), np.sin(np.deg2rad(ang))
        ex, ey = (a + 0.7 * band[i]) * np.cos(t), (b + 0.7 * band[i]) * np.sin(t)
        nx, ny = x + ca * ex - sa * ey, y + sa * ex + ca * ey
        radial = np.rad2deg(np.arctan2(ny - y, nx - x))
        nuc = CellGeometry(nx, ny, np.full(n, 0.22 * u), np.full(n, 0.09 * u),
                           radial + rng.normal(0, 8, n))
        od = np.stack([rng.uniform(1.0, 1.5, n), np.full(n, 0.2), np.full(n, 0.2)], axis=1)
        _draw_ellipses(img, nuc, od)
        _ellipse(img, x, y, a, b, ang, (0.02, 0.03, 0.2))


def _footprint(shape: tuple, geo: CellGeometry, grow: np.ndarray) -> np.ndarray:
    """(h, w) float32 mask, 1 inside the ellipses grown by ``grow`` pixels."""
    mask = np.zeros(shape, np.float32)
    _draw_ellipses(mask, CellGeometry(geo.cx, geo.cy, geo.a + grow, geo.b + grow, geo.angle),
                   np.ones((len(geo.cx), 1)))
    return mask


def _draw_normal_cells(img: np.ndarray, rng: np.random.Generator, geo: CellGeometry) -> None:
    """Cells with a central round nucleus (the commonest SRC look-alike)."""
    n = len(geo.cx)
    cyto = np.stack([rng.uniform(0.35, 0.6, n), rng.uniform(0.25, 0.45, n),
                     np.full(n, 0.15)], axis=1)
    _draw_ellipses(img, geo, cyto)
    k = rng.uniform(0.35, 0.55, n)
    nuc = CellGeometry(geo.cx + rng.normal(0, 0.05, n) * geo.a,
                       geo.cy + rng.normal(0, 0.05, n) * geo.b,
                       k * geo.a, k * geo.b * rng.uniform(0.8, 1.0, n), geo.angle)
    chrom = np.stack([rng.uniform(1.0, 1.6, n), rng.uniform(0.15, 0.3, n),
                      np.full(n, 0.3)], axis=1)
    _draw_ellipses(img, nuc, chrom)


def _draw_vacuoles(img: np.ndarray, rng: np.random.Generator, geo: CellGeometry) -> None:
    """Empty vacuoles / fat: a white hole with a thin pink rim and no nucleus."""
    for i in range(len(geo.cx)):
        rim = max(1, int(round(0.06 * geo.b[i])))
        _ellipse(img, geo.cx[i], geo.cy[i], geo.a[i], geo.b[i], geo.angle[i],
                 (0.02, 0.04, 0.2))
        _ellipse(img, geo.cx[i], geo.cy[i], geo.a[i], geo.b[i], geo.angle[i],
                 (0.2, rng.uniform(0.4, 0.7), 0.2), rim)


def _draw_src(img: np.ndarray, rng: np.random.Generator, geo: CellGeometry) -> None:
    """Signet ring cells: pale mucin vacuole, dark crescent nucleus pressed to the rim.

    In the cell's unit-circle frame the interior (radius ``1 - rim``) is filled with the
    nucleus, then a larger vacuole disc shifted away from the nucleus covers all of it but
    a crescent of thickness ``thick`` at angle ``phi`` spanning ``+-half_arc``: with shift
    ``s = thick / (1 - cos(half_arc))`` and radius ``1 - rim - thick + s``. The vacuole
    overflows the cell on the far side, so each cell is painted in a patch and pasted
    through the cell's mask; the rim is stroked last.
    """
    h, w = img.shape[:2]
    for i in range(len(geo.cx)):
        cx, cy, a, b, ang = geo.cx[i], geo.cy[i], geo.a[i], geo.b[i], geo.angle[i]
        r = max(a, b)
        x0, y0 = max(int(cx - r) - 2, 0), max(int(cy - r) - 2, 0)
        x1, y1 = min(int(cx + r) + 3, w), min(int(cy + r) + 3, h)
        if x1 <= x0 or y1 <= y0:
            continue
        px, py = cx - x0, cy - y0
        patch = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        _ellipse(mask, px, py, a, b, ang, (1,))

        rim = max(1.0, 0.07 * min(a, b))
        inner = 1 - rim / min(a, b)
        thick = rng.uniform(0.22, 0.38)
        half_arc = np.deg2rad(rng.uniform(50, 80))
        shift = thick / (1 - np.cos(half_arc))
        phi = rng.uniform(0, 2 * np.pi)
        nucleus_od = (rng.uniform(1.4, 2.0), rng.uniform(0.2, 0.35), 0.1)
        _ellipse(patch, px, py, a * inner, b * inner, ang, nucleus_od)

        t = np.deg2rad(ang)
        ux, uy = -shift * a * np.cos(phi), -shift * b * np.sin(phi)
        vx, vy = px + np.cos(t) * ux - np.sin(t) * uy, py + np.sin(t) * ux + np.cos(t) * uy
        radius = inner - thick + shift
        mucin_od = (rng.uniform(0.03, 0.12), rng.uniform(0.03, 0.1), rng.uniform(0.3, 0.8))
        _ellipse(patch, vx, vy, a * radius, b * radius, ang, mucin_od)
        _ellipse(patch, px, py, a, b, ang,
                 (rng.uniform(0.25, 0.45), rng.uniform(0.35, 0.6), 0.2), int(round(rim)))
        region = img[y0:y1, x0:x1]
        region[mask > 0] = patch[mask > 0]


def _draw_eosinophils(img: np.ndarray, rng: np.random.Generator, geo: CellGeometry) -> None:
    """Eosinophil-like cells: bright pink granular cytoplasm, a dark two-lobed nucleus.

    The two lobes sit on the cell's long axis, a third of the way out on either side, so
    the cell looks nothing like a SRC's pale vacuole or a normal cell's central nucleus.
    """
    n = len(geo.cx)
    cyto = np.stack([rng.uniform(0.05, 0.15, n), rng.uniform(1.0, 1.4, n),
                     rng.uniform(0.5, 0.9, n)], axis=1)
    _draw_ellipses(img, geo, cyto)
    t = np.deg2rad(geo.angle)
    chrom = np.stack([rng.uniform(1.3, 1.8, n), np.full(n, 0.3), np.full(n, 0.2)], axis=1)
    for side in (-1.0, 1.0):
        off = side * 0.35 * geo.a
        lobe = CellGeometry(geo.cx + off * np.cos(t), geo.cy + off * np.sin(t), 0.3 * geo.a,
                            0.45 * geo.b, geo.angle)
        _draw_ellipses(img, lobe, chrom)


def _to_rgb(od: np.ndarray, stain: StainStyle, grain: np.ndarray, blur: float,
            rng: np.random.Generator) -> np.ndarray:
    """Beer-Lambert conversion of stain OD (h, w, 3) to RGB uint8, with grain and noise."""
    mod = np.clip(1 + od[..., 2] * grain, 0.2, None)
    h_od = cv2.GaussianBlur(od[..., 0] * mod, (0, 0), blur) * np.float32(stain.h_gain)
    e_od = cv2.GaussianBlur(od[..., 1] * mod, (0, 0), blur) * np.float32(stain.e_gain)
    total = (h_od[..., None] * stain.h_vec.astype(np.float32)
             + e_od[..., None] * stain.e_vec.astype(np.float32))
    rgb = (np.exp(-total) * stain.white.astype(np.float32)
           + rng.standard_normal(total.shape, dtype=np.float32) * np.float32(2.0))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def render_image(rng: np.random.Generator, image_size: tuple, stain: StainStyle,
                 positive: bool, box_median: float = 28.0, box_log_sigma: float = 0.27,
                 src_coverage: tuple = (0.04, 0.2), cluster_share: tuple = (0.3, 0.8),
                 lookalike_density: float = 1.0) -> tuple:
    """Paints one H&E-like image; SRCs (positive only) come with tight boxes.

    :func:`render_cell_types` without eosinophils; see it for the arguments.

    Returns:
        tuple[np.ndarray, np.ndarray]: RGB image (h, w, 3) uint8 and boxes (N, 4) float64
        xyxy, clipped to the image (N = 0 for negatives).
    """
    rgb, boxes, _ = render_cell_types(rng, image_size, stain, positive, box_median,
                                      box_log_sigma, src_coverage, cluster_share,
                                      lookalike_density)
    return rgb, boxes


def render_cell_types(rng: np.random.Generator, image_size: tuple, stain: StainStyle,
                      positive: bool, box_median: float = 28.0, box_log_sigma: float = 0.27,
                      src_coverage: tuple = (0.04, 0.2), cluster_share: tuple = (0.3, 0.8),
                      lookalike_density: float = 1.0,
                      eosinophil_coverage: Optional[tuple] = None) -> tuple:
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

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: RGB image (h, w, 3) uint8, boxes (N, 4)
        float64 xyxy clipped to the image, and their labels (N,) int64: 0 SRC, 1 eosinophil.
    """
    h, w = image_size
    u = float(box_median)
    area_u = h * w / u ** 2
    lumen = smooth_noise(rng, (h, w), 4 * u)
    # A strided quantile is as good as the full one for a smooth field and 16x cheaper.
    level = np.quantile(lumen[::4, ::4], rng.uniform(0.05, 0.25))
    tissue = 1 / (1 + np.exp(-12 * (lumen - level)))
    cellular = 1 / (1 + np.exp(-3 * (smooth_noise(rng, (h, w), 3 * u) - rng.uniform(-0.3, 0.6))))
    cellular *= tissue

    od = _stroma(rng, (h, w), u)
    sheet = np.array([0.6, 0.3, 0.12], np.float32) * np.float32(rng.uniform(0.8, 1.2))
    od = od * (1 - cellular[..., None]) + sheet * cellular[..., None]
    od *= tissue[..., None].astype(np.float32)

    n_glands = rng.poisson(0.006 * area_u * (0.5 if positive else 1.0))
    glands, band = _place_glands(rng, tissue * (1 - cellular), n_glands, u)
    _draw_glands(od, rng, glands, band, u)
    # Nothing else is placed inside a gland: cells there would read as SRCs in a lumen.
    free = 1 - _footprint((h, w), glands, band)
    tissue = tissue * free
    cellular = cellular * free

    occupied = np.zeros((0, 3))
    src = CellGeometry(*(np.zeros(0),) * 5)
    if positive:
        src = _place_src(rng, (h, w), u, box_log_sigma, cellular, tissue, src_coverage,
                         cluster_share)
        occupied = np.stack([src.cx, src.cy, np.maximum(src.a, src.b)], axis=1)
    eos = CellGeometry(*(np.zeros(0),) * 5)
    if eosinophil_coverage is not None:
        n_eos = max(1, int(round(rng.uniform(*eosinophil_coverage) * area_u)))
        eos = _place_lookalikes(rng, tissue, lognormal_box_sizes(rng, n_eos, 0.8 * u,
                                                                 box_log_sigma), occupied)
        occupied = np.concatenate([occupied, np.stack([eos.cx, eos.cy,
                                                       np.maximum(eos.a, eos.b)], axis=1)])

    vac_sizes = u * np.exp(rng.normal(-0.1, 0.35, int(rng.uniform(0.02, 0.06) * area_u
                                                      * lookalike_density)))
    vac = _place_lookalikes(rng, tissue, vac_sizes, occupied)
    occupied = np.concatenate([occupied, np.stack([vac.cx, vac.cy, np.maximum(vac.a, vac.b)],
                                                  axis=1)])
    # Sheets of cells packed about edge to edge, a few cells in the stroma as well.
    cell_area = float((cellular + 0.08 * tissue).sum()) / u ** 2
    n_cells = int(rng.uniform(0.8, 1.3) * cell_area / 0.6 * lookalike_density)
    cell_sizes = 0.85 * u * np.exp(rng.normal(0, 0.25, n_cells))
    cells = _place_lookalikes(rng, cellular + 0.08 * tissue, cell_sizes, occupied, touch=0.6)
    _draw_normal_cells(od, rng, cells)

    n_lym = int(rng.uniform(0.1, 0.5) * area_u * lookalike_density)
    lym_density = tissue * (0.3 + np.clip(smooth_noise(rng, (h, w), 3 * u), 0, None))
    lx, ly = sample_points(rng, lym_density, n_lym)
    lr = 0.16 * u * rng.uniform(0.8, 1.2, n_lym)
    if len(occupied):
        d = np.hypot(lx[:, None] - occupied[:, 0], ly[:, None] - occupied[:, 1])
        free = np.all(d >= occupied[:, 2] + 2 * lr[:, None], axis=1)
        lx, ly, lr = lx[free], ly[free], lr[free]
    lym = CellGeometry(lx, ly, lr, lr * rng.uniform(0.85, 1.0, len(lr)),
                       rng.uniform(0, 180, len(lr)))
    _draw_ellipses(od, lym, np.stack([rng.uniform(1.4, 2.0, len(lr)), np.full(len(lr), 0.3),
                                      np.full(len(lr), 0.2)], axis=1))
    _draw_vacuoles(od, rng, vac)
    _draw_src(od, rng, src)
    if eosinophil_coverage is not None:
        _draw_eosinophils(od, rng, eos)

    grain = cv2.GaussianBlur(rng.standard_normal((h, w), dtype=np.float32), (0, 0),
                             max(0.5, 0.02 * u)) * 1.5
    rgb = _to_rgb(od, stain, grain, max(0.5, 0.025 * u), rng)
    boxes = np.concatenate([src.boxes(), eos.boxes()])
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, w)
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, h)
    labels = np.repeat(np.array([0, 1], dtype=np.int64), [len(src.cx), len(eos.cx)])
    return rgb, boxes, labels


def _place_src(rng: np.random.Generator, shape: tuple, u: float, log_sigma: float,
               cellular: np.ndarray, tissue: np.ndarray, coverage: tuple,
               cluster_share: tuple) -> CellGeometry:
    """SRC ellipses: a share in crowded clusters, the rest scattered over tissue."""
    h, w = shape
    target = max(1, int(round(rng.uniform(*coverage) * h * w / u ** 2)))
    n_cluster = int(round(target * rng.uniform(*cluster_share)))
    n_centres = max(1, rng.poisson(max(1.0, n_cluster / 12)))
    ccx, ccy = sample_points(rng, cellular + 1e-3, n_centres)
    spread = u * rng.uniform(1.2, 2.5, n_centres)
    member = rng.integers(0, n_centres, 3 * n_cluster)
    mx = ccx[member] + rng.normal(0, 1, len(member)) * spread[member]
    my = ccy[member] + rng.normal(0, 1, len(member)) * spread[member]
    sx, sy = sample_points(rng, tissue + 1e-3, 3 * (target - n_cluster))
    cx, cy = np.concatenate([mx, sx]), np.concatenate([my, sy])
    # Centres stay inside the image so every SRC is at least half visible.
    inside = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
    cx, cy = cx[inside], cy[inside]
    order = rng.permutation(len(cx))
    sizes = lognormal_box_sizes(rng, target, u, log_sigma)
    geo = sample_ellipses(rng, np.zeros(target), np.zeros(target), sizes)
    return _pack(geo, cx[order], cy[order], touch=0.85)


def _place_lookalikes(rng: np.random.Generator, density: np.ndarray, sizes: np.ndarray,
                      occupied: np.ndarray, touch: float = 0.85) -> CellGeometry:
    """Look-alike ellipses placed by ``density`` and kept clear of ``occupied`` discs."""
    cx, cy = sample_points(rng, density, 2 * len(sizes))
    geo = sample_ellipses(rng, np.zeros(len(sizes)), np.zeros(len(sizes)), sizes,
                          aspect_sigma=0.25)
    return _pack(geo, cx, cy, touch, occupied)


def _as_hw(image_size: Union[int, Sequence[int]]) -> tuple:
    if isinstance(image_size, (int, np.integer)):
        image_size = (image_size, image_size)
    if len(image_size) != 2 or any(int(s) < 32 for s in image_size):
        raise ValueError(f'image_size must be an int or (h, w) with sides >= 32, '
                         f'got {image_size!r}')
    return int(image_size[0]), int(image_size[1])


def _check_range(name: str, value: tuple, lo: float, hi: float) -> None:
    if len(value) != 2 or not lo <= value[0] <= value[1] <= hi:
        raise ValueError(f'{name} must be (min, max) with {lo} <= min <= max <= {hi}, '
                         f'got {value!r}')


def voc_xml(filename: str, width: int, height: int, boxes: np.ndarray) -> ET.ElementTree:
    """Pascal-VOC annotation with integer boxes named ``ring_cell_cancer``."""
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = POS_DIR
    ET.SubElement(root, 'filename').text = filename
    size = ET.SubElement(root, 'size')
    for tag, val in (('width', width), ('height', height), ('depth', 3)):
        ET.SubElement(size, tag).text = str(val)
    ET.SubElement(root, 'segmented').text = '0'
    for x0, y0, x1, y1 in boxes:
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = CLASS_NAME
        ET.SubElement(obj, 'pose').text = 'Unspecified'
        touches = x0 <= 0 or y0 <= 0 or x1 >= width or y1 >= height
        ET.SubElement(obj, 'truncated').text = str(int(touches))
        ET.SubElement(obj, 'difficult').text = '0'
        bnd = ET.SubElement(obj, 'bndbox')
        for tag, val in zip(('xmin', 'ymin', 'xmax', 'ymax'), (x0, y0, x1, y1)):
            ET.SubElement(bnd, tag).text = str(int(val))
    tree = ET.ElementTree(root)
    ET.indent(tree, space=' ')
    return tree


def round_boxes(boxes: np.ndarray) -> np.ndarray:
    """Integer VOC boxes; boxes that round to zero width or height are dropped."""
    out = np.round(boxes).astype(np.int64)
    return out[(out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])]


def _prepare_dirs(out_dir: Path, overwrite: bool) -> None:
    for sub in (POS_DIR, NEG_DIR):
        d = out_dir / sub
        if d.is_dir() and any(d.iterdir()):
            if not overwrite:
                raise FileExistsError(f'{d} is not empty; pass overwrite=True to replace '
                                      f'its .jpeg/.xml files')
            for f in list(d.glob('*.jpeg')) + list(d.glob('*.xml')):
                f.unlink()
        d.mkdir(parents=True, exist_ok=True)


def generate_synthetic_digestpath(
        out_dir: Union[str, Path],
        num_pos: int = 24,
        num_neg: int = 24,
        image_size: Union[int, Sequence[int]] = 640,
        seed: int = 0,
        scale: float = 0.5,
        box_median_40x: float = 56.0,
        box_log_sigma: float = 0.27,
        images_per_slide: int = 4,
        src_coverage: tuple = (0.04, 0.2),
        cluster_share: tuple = (0.3, 0.8),
        lookalike_density: float = 1.0,
        jpeg_quality: int = 90,
        overwrite: bool = False,
        progress: bool = False) -> SyntheticSummary:
    """Writes a synthetic DigestPath2019-like set in the challenge layout.

    ``out_dir/sig-train-pos/NAME.jpeg`` + ``NAME.xml`` (complete SRC boxes) and
    ``out_dir/sig-train-neg/NAME.jpeg`` (no SRC, with look-alikes). Names follow the real
    ``<slide>-lv0-<x>-<y>-<w>-<h>.jpeg`` with slides ``synth-pos-NN`` / ``synth-neg-NN``
    holding ``images_per_slide`` images each; ``x, y, w, h`` are level-0 (40x) coordinates,
    so ``w = image width / scale`` as in the real half-scale copy.

    Args:
        out_dir: Destination root.
        num_pos: Positive (annotated) images. Defaults to 24.
        num_neg: Negative images. Defaults to 24.
        image_size: Image side or (h, w) in pixels at ``scale``. Defaults to 640.
        seed: Seed of everything; same arguments give identical bytes. Defaults to 0.
        scale: Magnification relative to 40x; SRC boxes have median
            ``box_median_40x * scale`` px. Defaults to 0.5 (the real half-scale copy).
        box_median_40x: Median SRC box size ``sqrt(w * h)`` at 40x. Defaults to 56.0.
        box_log_sigma: Log-normal spread of box sizes (0.27 gives 5-95 percentiles of
            about 0.64-1.56 x median, as in the real data). Defaults to 0.27.
        images_per_slide: Images sharing a slide id (and stain). Defaults to 4.
        src_coverage: Range of the share of a positive image's area covered by SRC boxes.
            Defaults to (0.04, 0.2).
        cluster_share: Range of the share of SRCs in crowded clusters. Defaults to
            (0.3, 0.8).
        lookalike_density: Multiplier on the number of look-alikes. Defaults to 1.0.
        jpeg_quality: JPEG quality 1-100. Defaults to 90.
        overwrite: Replace .jpeg/.xml files already in the two folders; without it a
            non-empty folder raises. Defaults to False.
        progress: Show a progress bar. Defaults to False.

    Returns:
        SyntheticSummary: Written paths and every box's width and height.
    """
    hw = _as_hw(image_size)
    if num_pos < 0 or num_neg < 0 or num_pos + num_neg == 0:
        raise ValueError(f'num_pos and num_neg must be >= 0 and not both 0, '
                         f'got {num_pos}, {num_neg}')
    if scale <= 0 or box_median_40x <= 0 or box_log_sigma < 0:
        raise ValueError(f'scale and box_median_40x must be > 0 and box_log_sigma >= 0, '
                         f'got {scale}, {box_median_40x}, {box_log_sigma}')
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    if images_per_slide < 1:
        raise ValueError(f'images_per_slide must be >= 1, got {images_per_slide}')
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f'jpeg_quality must be in [1, 100], got {jpeg_quality}')
    _check_range('src_coverage', src_coverage, 0.0, 1.0)
    _check_range('cluster_share', cluster_share, 0.0, 1.0)
    out_dir = Path(out_dir)
    _prepare_dirs(out_dir, overwrite)

    jobs = [(True, i) for i in range(num_pos)] + [(False, i) for i in range(num_neg)]
    # One independent stream per slide and per image: an image does not depend on how many
    # images precede it, so changing num_neg leaves the positive images unchanged.
    slide_styles: dict = {}
    pos_images, neg_images, box_wh = [], [], []
    bar = None
    if progress:
        bar = ProgressBar(len(jobs))
    for positive, i in jobs:
        slide = i // images_per_slide
        key = (positive, slide)
        if key not in slide_styles:
            slide_rng = np.random.default_rng([seed, int(positive), 0, slide])
            slide_styles[key] = (sample_stain(slide_rng), slide_rng.integers(5, 60, 2) * 1000)
        style, origin = slide_styles[key]
        rng = np.random.default_rng([seed, int(positive), 1, i])
        rgb, boxes = render_image(rng, hw, style.jitter(rng), positive,
                                  box_median=box_median_40x * scale,
                                  box_log_sigma=box_log_sigma, src_coverage=src_coverage,
                                  cluster_share=cluster_share,
                                  lookalike_density=lookalike_density)
        h, w = hw
        w0, h0 = int(round(w / scale)), int(round(h / scale))
        j = i % images_per_slide
        x0 = int(origin[0] + j * (w0 + 500))
        y0 = int(origin[1] + (j % 2) * (h0 + 500))
        slide_id = f'synth-{"pos" if positive else "neg"}-{slide:02d}'
        name = f'{slide_id}-lv0-{x0}-{y0}-{w0}-{h0}'
        folder = out_dir / (POS_DIR if positive else NEG_DIR)
        ok, buf = cv2.imencode('.jpeg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
        if not ok:
            raise RuntimeError(f'JPEG encoding failed for {name}')
        (folder / f'{name}.jpeg').write_bytes(buf.tobytes())
        if positive:
            ib = round_boxes(boxes)
            voc_xml(f'{name}.jpeg', w, h, ib).write(folder / f'{name}.xml', encoding='utf-8')
            box_wh.append(ib[:, 2:] - ib[:, :2])
            pos_images.append(folder / f'{name}.jpeg')
        else:
            neg_images.append(folder / f'{name}.jpeg')
        if bar is not None:
            bar.update()
    wh = np.concatenate(box_wh) if box_wh else np.zeros((0, 2), np.int64)
    return SyntheticSummary(out_dir, pos_images, neg_images, wh)
