"""How the background and each kind of cell look, painted into stain OD (h, w, 3).

The OD channels are haematoxylin, eosin and grain strength (see :mod:`.stain`). Every
function draws its colours from the image's random generator, in the caller's order.
"""
import cv2
import numpy as np

from .geometry import CellGeometry
from .noise import smooth_noise
from .raster import draw_ellipse, draw_ellipses


def paint_stroma(rng: np.random.Generator, shape: tuple, u: float) -> np.ndarray:
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
    draw_ellipses(canvas, nuc, np.stack([np.zeros(n_nuc), rng.uniform(1.0, 1.6, n_nuc)], 1))

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


def paint_background(rng: np.random.Generator, tissue: np.ndarray, cellular: np.ndarray,
                     u: float) -> np.ndarray:
    """Stroma, purple sheets where ``cellular``, nothing (white) outside ``tissue``.

    Returns:
        np.ndarray: OD (h, w, 3) float32, the canvas the cells are painted on.
    """
    od = paint_stroma(rng, tissue.shape, u)
    sheet = np.array([0.6, 0.3, 0.12], np.float32) * np.float32(rng.uniform(0.8, 1.2))
    od = od * (1 - cellular[..., None]) + sheet * cellular[..., None]
    od *= tissue[..., None].astype(np.float32)
    return od


def paint_glands(od: np.ndarray, rng: np.random.Generator, lumen: CellGeometry,
                 band: np.ndarray, u: float) -> None:
    """Glands: a white lumen lined by purple epithelium with radial basal nuclei."""
    for i in range(len(lumen.cx)):
        x, y, a, b, ang = lumen.cx[i], lumen.cy[i], lumen.a[i], lumen.b[i], lumen.angle[i]
        draw_ellipse(od, x, y, a + band[i], b + band[i], ang, (0.55, 0.3, 0.1))
        n = int(2 * np.pi * np.hypot(a + band[i], b + band[i]) / (0.22 * u))
        t = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 0.1, n)
        ca, sa = np.cos(np.deg2rad(ang)), np.sin(np.deg2rad(ang))
        ex, ey = (a + 0.7 * band[i]) * np.cos(t), (b + 0.7 * band[i]) * np.sin(t)
        nx, ny = x + ca * ex - sa * ey, y + sa * ex + ca * ey
        radial = np.rad2deg(np.arctan2(ny - y, nx - x))
        nuc = CellGeometry(nx, ny, np.full(n, 0.22 * u), np.full(n, 0.09 * u),
                           radial + rng.normal(0, 8, n))
        colour = np.stack([rng.uniform(1.0, 1.5, n), np.full(n, 0.2), np.full(n, 0.2)], axis=1)
        draw_ellipses(od, nuc, colour)
        draw_ellipse(od, x, y, a, b, ang, (0.02, 0.03, 0.2))


def paint_normal_cells(od: np.ndarray, rng: np.random.Generator, geo: CellGeometry) -> None:
    """Cells with a central round nucleus (the commonest SRC look-alike)."""
    n = len(geo.cx)
    cyto = np.stack([rng.uniform(0.35, 0.6, n), rng.uniform(0.25, 0.45, n),
                     np.full(n, 0.15)], axis=1)
    draw_ellipses(od, geo, cyto)
    k = rng.uniform(0.35, 0.55, n)
    nuc = CellGeometry(geo.cx + rng.normal(0, 0.05, n) * geo.a,
                       geo.cy + rng.normal(0, 0.05, n) * geo.b,
                       k * geo.a, k * geo.b * rng.uniform(0.8, 1.0, n), geo.angle)
    chrom = np.stack([rng.uniform(1.0, 1.6, n), rng.uniform(0.15, 0.3, n),
                      np.full(n, 0.3)], axis=1)
    draw_ellipses(od, nuc, chrom)


def paint_lymphocytes(od: np.ndarray, rng: np.random.Generator, geo: CellGeometry) -> None:
    """Lymphocytes: small, dark, round nuclei with no visible cytoplasm."""
    n = len(geo.cx)
    draw_ellipses(od, geo, np.stack([rng.uniform(1.4, 2.0, n), np.full(n, 0.3),
                                     np.full(n, 0.2)], axis=1))


def paint_vacuoles(od: np.ndarray, rng: np.random.Generator, geo: CellGeometry) -> None:
    """Empty vacuoles / fat: a white hole with a thin pink rim and no nucleus."""
    for i in range(len(geo.cx)):
        rim = max(1, int(round(0.06 * geo.b[i])))
        draw_ellipse(od, geo.cx[i], geo.cy[i], geo.a[i], geo.b[i], geo.angle[i],
                     (0.02, 0.04, 0.2))
        draw_ellipse(od, geo.cx[i], geo.cy[i], geo.a[i], geo.b[i], geo.angle[i],
                     (0.2, rng.uniform(0.4, 0.7), 0.2), rim)


def paint_src(od: np.ndarray, rng: np.random.Generator, geo: CellGeometry,
              nucleus_scale: float = 1.0) -> None:
    """Signet ring cells: pale mucin vacuole, dark crescent nucleus pressed to the rim.

    ``nucleus_scale`` multiplies the nucleus' optical density: below 1 it paints SRC mimics,
    mucin cells whose crescent is faint (the nucleus out of the section's plane), which only
    the crescent's strength tells from an SRC.

    In the cell's unit-circle frame the interior (radius ``1 - rim``) is filled with the
    nucleus, then a larger vacuole disc shifted away from the nucleus covers all of it but
    a crescent of thickness ``thick`` at angle ``phi`` spanning ``+-half_arc``: with shift
    ``s = thick / (1 - cos(half_arc))`` and radius ``1 - rim - thick + s``. The vacuole
    overflows the cell on the far side, so each cell is painted in a patch and pasted
    through the cell's mask; the rim is stroked last.
    """
    h, w = od.shape[:2]
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
        draw_ellipse(mask, px, py, a, b, ang, (1,))

        rim = max(1.0, 0.07 * min(a, b))
        inner = 1 - rim / min(a, b)
        thick = rng.uniform(0.22, 0.38)
        half_arc = np.deg2rad(rng.uniform(50, 80))
        shift = thick / (1 - np.cos(half_arc))
        phi = rng.uniform(0, 2 * np.pi)
        nucleus_od = tuple(nucleus_scale * v for v in (
            rng.uniform(1.4, 2.0), rng.uniform(0.2, 0.35), 0.1))
        draw_ellipse(patch, px, py, a * inner, b * inner, ang, nucleus_od)

        t = np.deg2rad(ang)
        ux, uy = -shift * a * np.cos(phi), -shift * b * np.sin(phi)
        vx, vy = px + np.cos(t) * ux - np.sin(t) * uy, py + np.sin(t) * ux + np.cos(t) * uy
        radius = inner - thick + shift
        mucin_od = (rng.uniform(0.03, 0.12), rng.uniform(0.03, 0.1), rng.uniform(0.3, 0.8))
        draw_ellipse(patch, vx, vy, a * radius, b * radius, ang, mucin_od)
        draw_ellipse(patch, px, py, a, b, ang,
                     (rng.uniform(0.25, 0.45), rng.uniform(0.35, 0.6), 0.2), int(round(rim)))
        region = od[y0:y1, x0:x1]
        region[mask > 0] = patch[mask > 0]


def paint_eosinophils(od: np.ndarray, rng: np.random.Generator, geo: CellGeometry) -> None:
    """Eosinophil-like cells: bright pink granular cytoplasm, a dark two-lobed nucleus.

    The two lobes sit on the cell's long axis, a third of the way out on either side, so
    the cell looks nothing like a SRC's pale vacuole or a normal cell's central nucleus.
    """
    n = len(geo.cx)
    cyto = np.stack([rng.uniform(0.05, 0.15, n), rng.uniform(1.0, 1.4, n),
                     rng.uniform(0.5, 0.9, n)], axis=1)
    draw_ellipses(od, geo, cyto)
    t = np.deg2rad(geo.angle)
    chrom = np.stack([rng.uniform(1.3, 1.8, n), np.full(n, 0.3), np.full(n, 0.2)], axis=1)
    for side in (-1.0, 1.0):
        off = side * 0.35 * geo.a
        lobe = CellGeometry(geo.cx + off * np.cos(t), geo.cy + off * np.sin(t), 0.3 * geo.a,
                            0.45 * geo.b, geo.angle)
        draw_ellipses(od, lobe, chrom)
