"""Writing whole-image detections: JSON, CSV, QuPath GeoJSON, and, drawn on the image's
:class:`~mmdet_dghm.fileio.Overview` (read by its reader), an overlay PNG with a legend and a
detection-density heat map."""
import csv
import json
from pathlib import Path
from typing import Dict, Optional

import cv2
import numpy as np

from ..fileio import Overview
from .inference import Detections

# QuPath's colour of the class (RGB), shown when the GeoJSON is imported.
CLASS_COLOR_RGB = (220, 20, 60)


def _boxes_and_scores(det: Detections) -> tuple:
    """Boxes rounded to 1/100 px and scores to 1e-5, as Python lists for the text formats."""
    return (np.round(det.bboxes.astype(np.float64), 2).tolist(),
            np.round(det.scores.astype(np.float64), 5).tolist())


def write_json(det: Detections, path: Path, class_name: str) -> None:
    """``{"image", "width", "height", "class_name", "num_tiles", "detections": [{"bbox":
    [x1, y1, x2, y2], "score"}]}`` with boxes in image pixels, by descending score."""
    boxes, scores = _boxes_and_scores(det)
    record = dict(image=str(det.path), width=det.width, height=det.height,
                  class_name=class_name, num_tiles=det.num_tiles,
                  skipped_tiles=det.skipped_tiles, tissue_fraction=det.tissue_fraction,
                  detections=[dict(bbox=b, score=s) for b, s in zip(boxes, scores)])
    with open(path, 'w', encoding='utf-8') as f:
        f.write(json.dumps(record))


def write_csv(det: Detections, path: Path) -> None:
    """One row per box: ``x1,y1,x2,y2,score`` (header included), image pixels."""
    boxes, scores = _boxes_and_scores(det)
    with open(path, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['x1', 'y1', 'x2', 'y2', 'score'])
        writer.writerows(b + [s] for b, s in zip(boxes, scores))


def geojson_features(det: Detections, class_name: str) -> list:
    """Boxes as GeoJSON Features QuPath imports as detection objects.

    Each box is a closed rectangular Polygon ring (5 points, first = last) in image pixels,
    with QuPath's properties: ``objectType`` 'detection', ``classification`` (name and RGB
    colour) and ``measurements`` holding the score.
    """
    boxes, scores = _boxes_and_scores(det)
    features = []
    for (x1, y1, x2, y2), score in zip(boxes, scores):
        ring = [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]
        features.append(dict(
            type='Feature',
            geometry=dict(type='Polygon', coordinates=[ring]),
            properties=dict(objectType='detection',
                            classification=dict(name=class_name, color=list(CLASS_COLOR_RGB)),
                            measurements=dict(score=score))))
    return features


def write_geojson(det: Detections, path: Path, class_name: str) -> None:
    """A GeoJSON FeatureCollection of :func:`geojson_features`."""
    collection = dict(type='FeatureCollection', features=geojson_features(det, class_name))
    # json.dump streams many small chunks through Python; one dumps is ~10x faster here.
    with open(path, 'w', encoding='utf-8') as f:
        f.write(json.dumps(collection))


def score_colors(scores: np.ndarray) -> np.ndarray:
    """``(N, 3)`` uint8 BGR colours of scores in [0, 1] on the 'turbo' map (blue low, red high)."""
    levels = np.clip(np.round(np.asarray(scores, np.float64) * 255), 0, 255).astype(np.uint8)
    if levels.size == 0:  # OpenCV returns None for an empty map
        return np.zeros((0, 3), dtype=np.uint8)
    return cv2.applyColorMap(levels.reshape(-1, 1), cv2.COLORMAP_TURBO).reshape(-1, 3)


def draw_overlay(overview: np.ndarray, factor: float, det: Detections,
                 score_thr: float = 0.5) -> np.ndarray:
    """A copy of ``overview`` with the boxes scoring at least ``score_thr``, coloured by score.

    Boxes are drawn from low to high score so the most confident stay visible on top.
    """
    canvas = overview.copy()
    keep = det.scores >= score_thr
    order = np.argsort(det.scores[keep], kind='stable')
    boxes = np.round(det.bboxes[keep][order] * factor).astype(np.int64)
    for box, color in zip(boxes.tolist(), score_colors(det.scores[keep][order]).tolist()):
        cv2.rectangle(canvas, (box[0], box[1]), (box[2], box[3]), color, 1)
    return canvas


def _text(canvas: np.ndarray, text: str, x: int, y: int, scale: float = 0.45) -> None:
    cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1,
                cv2.LINE_AA)


def legend_panel(width: int, score_thr: float, pixel_size: Optional[float],
                 count: int) -> np.ndarray:
    """A white ``(60, width, 3)`` BGR strip: the score colour bar from 0 to 1 with the drawing
    threshold marked, the number of boxes drawn and the pixel size (or 'unknown')."""
    panel = np.full((60, max(width, 320), 3), 255, np.uint8)
    bar_x0, bar_x1 = 10, min(panel.shape[1] - 10, 260)
    levels = np.linspace(0, 1, bar_x1 - bar_x0)
    panel[8:22, bar_x0:bar_x1] = score_colors(levels)[None]
    for tick in (0.0, 0.5, 1.0):
        x = bar_x0 + round(tick * (bar_x1 - bar_x0 - 1))
        _text(panel, f'{tick:g}', max(x - 8, 0), 36, 0.4)
    thr_x = bar_x0 + round(score_thr * (bar_x1 - bar_x0 - 1))
    cv2.line(panel, (thr_x, 4), (thr_x, 25), (0, 0, 0), 2)
    size = 'unknown' if pixel_size is None else f'{pixel_size:.3g} um/px'
    _text(panel, f'score (boxes drawn >= {score_thr:g}: {count})', bar_x1 + 10, 20)
    _text(panel, f'pixel size: {size}', bar_x0, 54)
    return panel


def draw_overlay_with_legend(overview: np.ndarray, factor: float, det: Detections,
                             score_thr: float = 0.5,
                             pixel_size: Optional[float] = None) -> np.ndarray:
    """:func:`draw_overlay` above a :func:`legend_panel`."""
    drawn = draw_overlay(overview, factor, det, score_thr)
    panel = legend_panel(drawn.shape[1], score_thr, pixel_size,
                         int((det.scores >= score_thr).sum()))
    if panel.shape[1] > drawn.shape[1]:
        drawn = cv2.copyMakeBorder(drawn, 0, 0, 0, panel.shape[1] - drawn.shape[1],
                                   cv2.BORDER_CONSTANT, value=(255, 255, 255))
    return np.concatenate([drawn, panel])


def density_map(shape: tuple, factor: float, det: Detections, score_thr: float,
                cell: int = 16) -> np.ndarray:
    """Detections scoring at least ``score_thr`` per ``cell x cell`` overview pixels.

    Returns:
        np.ndarray: ``(ceil(h / cell), ceil(w / cell))`` float64 counts per cell, box centres
        binned (``np.histogram2d``).
    """
    height, width = shape[:2]
    rows, cols = -(-height // cell), -(-width // cell)
    keep = det.scores >= score_thr
    centres = (det.bboxes[keep, :2] + det.bboxes[keep, 2:]) / 2 * factor
    counts, _, _ = np.histogram2d(centres[:, 1], centres[:, 0], bins=(rows, cols),
                                  range=((0, rows * cell), (0, cols * cell)))
    return counts


def draw_heatmap(overview: np.ndarray, factor: float, det: Detections, score_thr: float = 0.5,
                 pixel_size: Optional[float] = None, cell: int = 16) -> np.ndarray:
    """The overview with a detection-density heat map blended over it, and its legend.

    Cells of ``cell`` overview pixels are coloured by their count of detections scoring at
    least ``score_thr`` (smoothed over neighbouring cells, 'inferno' map, empty cells
    transparent); the legend gives the count of the hottest cell, and its density per mm^2
    when the pixel size is known.
    """
    counts = density_map(overview.shape, factor, det, score_thr, cell)
    smooth = cv2.GaussianBlur(counts, (0, 0), 1.0) if counts.size else counts
    peak = float(smooth.max()) if smooth.size else 0.0
    levels = np.zeros(smooth.shape, np.uint8) if peak == 0 else np.round(
        smooth / peak * 255).astype(np.uint8)
    colours = cv2.applyColorMap(levels, cv2.COLORMAP_INFERNO)
    colours = cv2.resize(colours, (colours.shape[1] * cell, colours.shape[0] * cell),
                         interpolation=cv2.INTER_LINEAR)[:overview.shape[0], :overview.shape[1]]
    alpha = cv2.resize((levels > 12).astype(np.float32) * 0.6,
                       (levels.shape[1] * cell, levels.shape[0] * cell),
                       interpolation=cv2.INTER_LINEAR)[:overview.shape[0], :overview.shape[1]]
    blended = (overview * (1 - alpha[..., None]) + colours * alpha[..., None]).astype(np.uint8)
    panel = np.full((40, max(blended.shape[1], 320), 3), 255, np.uint8)
    bar = cv2.applyColorMap(np.linspace(0, 255, 200).astype(np.uint8)[None], cv2.COLORMAP_INFERNO)
    panel[8:22, 10:210] = bar
    cell_px = cell / factor
    text = f'0 .. {peak:.1f} detections >= {score_thr:g} per {cell_px:.0f} px cell'
    if pixel_size is not None and peak > 0:
        text += f' ({peak / (cell_px * pixel_size / 1000) ** 2:.0f} /mm^2)'
    _text(panel, text, 10, 36, 0.4)
    if panel.shape[1] > blended.shape[1]:
        blended = cv2.copyMakeBorder(blended, 0, 0, 0, panel.shape[1] - blended.shape[1],
                                     cv2.BORDER_CONSTANT, value=(255, 255, 255))
    return np.concatenate([blended, panel])


def write_png(image: np.ndarray, path: Path) -> None:
    """Write a BGR image as PNG; raises ``OSError`` naming ``path`` when OpenCV cannot."""
    if not cv2.imwrite(str(path), image):
        raise OSError(f'{path}: OpenCV could not write the PNG')


def export_detections(det: Detections, out_dir: Path, stem: str,
                      overview: Optional[Overview] = None, *, class_name: str,
                      overlay_score_thr: float = 0.5,
                      pixel_size: Optional[float] = None) -> Dict[str, Path]:
    """Write ``<stem>.json``, ``.csv``, ``.geojson`` and, with an overview, ``_overlay.png``
    (boxes and a legend) and, for images cut into more than one window, ``_heatmap.png``.

    Args:
        det (Detections): The image's detections.
        out_dir (Path): Output folder (created).
        stem (str): Name of the outputs.
        overview (Overview, optional): The image's overview the PNGs draw on
            (:meth:`ImageReader.read_overview`). Defaults to None (no PNG).
        class_name (str): Name of the detected class in JSON and GeoJSON.
        overlay_score_thr (float): Boxes drawn and counted from this score. Defaults to 0.5.
        pixel_size (float, optional): The image's um/px, shown in the legends. Defaults to
            None (unknown).

    Returns:
        Dict[str, Path]: The written files by kind ('json', 'csv', 'geojson', 'overlay',
        'heatmap').
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = dict(json=out_dir / f'{stem}.json', csv=out_dir / f'{stem}.csv',
                 geojson=out_dir / f'{stem}.geojson')
    write_json(det, paths['json'], class_name)
    write_csv(det, paths['csv'])
    write_geojson(det, paths['geojson'], class_name)
    if overview is not None:
        paths['overlay'] = out_dir / f'{stem}_overlay.png'
        write_png(draw_overlay_with_legend(overview.image, overview.factor, det,
                                           overlay_score_thr, pixel_size), paths['overlay'])
        if det.num_tiles + det.skipped_tiles > 1:
            paths['heatmap'] = out_dir / f'{stem}_heatmap.png'
            write_png(draw_heatmap(overview.image, overview.factor, det, overlay_score_thr,
                                   pixel_size), paths['heatmap'])
    return paths
