"""Where things go: the tissue maps, then glands and cells placed on them without overlap.

Every function takes the image's random generator and draws from it; the caller's order of
calls is the order of the draws. Lengths are in pixels, ``u`` is the SRC box median and
``area_u = h * w / u ** 2`` the image area in units of ``u ** 2``.
"""
from typing import Optional

import cv2
import numpy as np

from .geometry import CellGeometry, lognormal_box_sizes, sample_ellipses
from .noise import smooth_noise
from .raster import draw_ellipses


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


def pack_ellipses(geo: CellGeometry, xs: np.ndarray, ys: np.ndarray, touch: float,
                  occupied: Optional[np.ndarray] = None) -> CellGeometry:
    """Moves the ellipses of ``geo`` onto candidate centres by :func:`pack_discs`.

    Ellipses that find no room are dropped; the others keep their order.
    """
    slot = pack_discs(xs, ys, np.maximum(geo.a, geo.b), touch, occupied)
    keep = slot >= 0
    return CellGeometry(xs[slot[keep]], ys[slot[keep]], geo.a[keep], geo.b[keep],
                        geo.angle[keep])


def tissue_maps(rng: np.random.Generator, shape: tuple, u: float) -> tuple:
    """Soft (h, w) maps in [0, 1] of tissue (vs lumen / background) and cell sheets.

    5-25 percent of the image is left as background; ``cellular <= tissue`` everywhere.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``tissue`` and ``cellular``.
    """
    lumen = smooth_noise(rng, shape, 4 * u)
    # A strided quantile is as good as the full one for a smooth field and 16x cheaper.
    level = np.quantile(lumen[::4, ::4], rng.uniform(0.05, 0.25))
    tissue = 1 / (1 + np.exp(-12 * (lumen - level)))
    cellular = 1 / (1 + np.exp(-3 * (smooth_noise(rng, shape, 3 * u) - rng.uniform(-0.3, 0.6))))
    cellular *= tissue
    return tissue, cellular


def place_glands(rng: np.random.Generator, density: np.ndarray, u: float,
                 positive: bool) -> tuple:
    """Non-overlapping glands: lumen ellipses and the width of their epithelial band.

    Their number is Poisson with mean ``0.006 area_u``, halved in positive images.

    Returns:
        tuple[CellGeometry, np.ndarray]: The lumens and each one's band width (N,).
    """
    h, w = density.shape
    n = rng.poisson(0.006 * (h * w / u ** 2) * (0.5 if positive else 1.0))
    cx, cy = sample_points(rng, density, 2 * n)
    band = u * rng.uniform(0.6, 0.9, n)
    lumen = CellGeometry(np.zeros(n), np.zeros(n), u * rng.uniform(1.5, 3.5, n),
                         u * rng.uniform(1.0, 2.5, n), rng.uniform(0, 180, n))
    slot = pack_discs(cx, cy, np.maximum(lumen.a, lumen.b) + band, touch=0.9)
    keep = slot >= 0
    return (CellGeometry(cx[slot[keep]], cy[slot[keep]], lumen.a[keep], lumen.b[keep],
                         lumen.angle[keep]), band[keep])


def footprint(shape: tuple, geo: CellGeometry, grow: np.ndarray) -> np.ndarray:
    """(h, w) float32 mask, 1 inside the ellipses grown by ``grow`` pixels, else 0."""
    mask = np.zeros(shape, np.float32)
    draw_ellipses(mask, CellGeometry(geo.cx, geo.cy, geo.a + grow, geo.b + grow, geo.angle),
                  np.ones((len(geo.cx), 1)))
    return mask


def place_src(rng: np.random.Generator, u: float, log_sigma: float, cellular: np.ndarray,
              tissue: np.ndarray, coverage: tuple, cluster_share: tuple) -> CellGeometry:
    """SRC ellipses: a share in crowded clusters, the rest scattered over tissue.

    Args:
        rng: Random generator.
        u: Median SRC box size.
        log_sigma: Log-normal spread of the box sizes.
        cellular, tissue: The maps of :func:`tissue_maps` (cluster centres follow
            ``cellular``, scattered cells ``tissue``).
        coverage: Range of the image share covered by SRC boxes (drawn once).
        cluster_share: Range of the share of SRCs in clusters (drawn once).

    Returns:
        CellGeometry: The SRCs, centres inside the image, discs clear of one another.
    """
    h, w = tissue.shape
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
    return pack_ellipses(geo, cx[order], cy[order], touch=0.85)


def place_lookalikes(rng: np.random.Generator, density: np.ndarray, sizes: np.ndarray,
                     occupied: np.ndarray, touch: float = 0.85) -> CellGeometry:
    """Look-alike ellipses placed by ``density`` and kept clear of ``occupied`` discs."""
    cx, cy = sample_points(rng, density, 2 * len(sizes))
    geo = sample_ellipses(rng, np.zeros(len(sizes)), np.zeros(len(sizes)), sizes,
                          aspect_sigma=0.25)
    return pack_ellipses(geo, cx, cy, touch, occupied)


def place_eosinophils(rng: np.random.Generator, tissue: np.ndarray, u: float,
                      log_sigma: float, coverage: tuple,
                      occupied: np.ndarray) -> CellGeometry:
    """Eosinophils over ``tissue``, boxes 0.8 x the SRC size, covering ``coverage`` of it."""
    h, w = tissue.shape
    n = max(1, int(round(rng.uniform(*coverage) * (h * w / u ** 2))))
    return place_lookalikes(rng, tissue, lognormal_box_sizes(rng, n, 0.8 * u, log_sigma),
                            occupied)


def place_mimics(rng: np.random.Generator, tissue: np.ndarray, u: float, log_sigma: float,
                 coverage: tuple, occupied: np.ndarray) -> CellGeometry:
    """SRC mimics over ``tissue``, boxes of the SRC size, covering ``coverage`` of it."""
    h, w = tissue.shape
    n = max(1, int(round(rng.uniform(*coverage) * (h * w / u ** 2))))
    return place_lookalikes(rng, tissue, lognormal_box_sizes(rng, n, u, log_sigma), occupied)


def place_vacuoles(rng: np.random.Generator, tissue: np.ndarray, u: float, density: float,
                   occupied: np.ndarray) -> CellGeometry:
    """Empty vacuoles / fat, ``0.02-0.06 area_u`` of them times ``density``."""
    h, w = tissue.shape
    sizes = u * np.exp(rng.normal(-0.1, 0.35, int(rng.uniform(0.02, 0.06) * (h * w / u ** 2)
                                                  * density)))
    return place_lookalikes(rng, tissue, sizes, occupied)


def place_normal_cells(rng: np.random.Generator, cellular: np.ndarray, tissue: np.ndarray,
                       u: float, density: float, occupied: np.ndarray) -> CellGeometry:
    """Sheets of cells packed about edge to edge, a few cells in the stroma as well."""
    where = cellular + 0.08 * tissue
    n = int(rng.uniform(0.8, 1.3) * (float(where.sum()) / u ** 2) / 0.6 * density)
    sizes = 0.85 * u * np.exp(rng.normal(0, 0.25, n))
    return place_lookalikes(rng, where, sizes, occupied, touch=0.6)


def place_lymphocytes(rng: np.random.Generator, tissue: np.ndarray, u: float,
                      density: float, occupied: np.ndarray) -> CellGeometry:
    """Small round lymphocytes in patches over the tissue, outside every ``occupied`` disc.

    A lymphocyte of radius ``r`` keeps ``2 r`` clear of each disc's rim; lymphocytes may
    touch one another.
    """
    h, w = tissue.shape
    n = int(rng.uniform(0.1, 0.5) * (h * w / u ** 2) * density)
    where = tissue * (0.3 + np.clip(smooth_noise(rng, (h, w), 3 * u), 0, None))
    lx, ly = sample_points(rng, where, n)
    lr = 0.16 * u * rng.uniform(0.8, 1.2, n)
    if len(occupied):
        d = np.hypot(lx[:, None] - occupied[:, 0], ly[:, None] - occupied[:, 1])
        free = np.all(d >= occupied[:, 2] + 2 * lr[:, None], axis=1)
        lx, ly, lr = lx[free], ly[free], lr[free]
    return CellGeometry(lx, ly, lr, lr * rng.uniform(0.85, 1.0, len(lr)),
                        rng.uniform(0, 180, len(lr)))
