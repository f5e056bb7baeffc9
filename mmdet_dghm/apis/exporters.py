"""Writing whole-image detections: JSON, CSV, QuPath GeoJSON, and, drawn on the image's
:class:`~mmdet_dghm.fileio.Overview` (read by its reader), an overlay PNG with a legend and a
detection-density heat map.

Detections of one class are written as for DigestPath's signet ring cells: the class name once
per file, boxes coloured by score. Detections of several classes carry their class in every
format: a ``label`` and ``class_name`` per box in JSON and CSV, a QuPath ``classification``
(name and colour, one colour per class) per GeoJSON feature, boxes coloured by class under a
legend of the classes, and one heat map per class.

Every file is written to a temporary name in its folder and renamed into place, so a process
killed while writing leaves either the previous file or none, never a truncated one.
"""
import colorsys
import csv
import io
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ..fileio import Overview
from .inference import Detections

__all__ = ['CLASS_COLOR_RGB', 'class_colors', 'density_map', 'draw_heatmap',
           'draw_class_heatmaps', 'draw_overlay', 'draw_overlay_with_legend',
           'export_detections', 'geojson_features', 'legend_panel', 'class_legend_panel',
           'score_colors', 'write_csv', 'write_geojson', 'write_json', 'write_png']

# QuPath's colour of the (first) class (RGB), shown when the GeoJSON is imported.
CLASS_COLOR_RGB = (220, 20, 60)
# Colours of the next classes (RGB): the Okabe-Ito palette, told apart with colour blindness
# (its black and yellow left out: invisible on nuclei and on the white legend).
_PALETTE_RGB = ((0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167), (86, 180, 233),
                (213, 94, 0))

ClassNames = Union[str, Sequence[str]]


def _names(class_names: ClassNames) -> Tuple[str, ...]:
    """A class name or names as a tuple (a single string is one class)."""
    return (class_names, ) if isinstance(class_names, str) else tuple(class_names)


def class_colors(num_classes: int) -> List[Tuple[int, int, int]]:
    """``num_classes`` distinct RGB colours: crimson (DigestPath's), the Okabe-Ito palette,
    then hues spaced by the golden angle."""
    colors = [CLASS_COLOR_RGB, *_PALETTE_RGB][:num_classes]
    for index in range(num_classes - len(colors)):
        hue = (0.1 + index * 0.381966) % 1.0
        colors.append(tuple(round(255 * c) for c in colorsys.hsv_to_rgb(hue, 0.85, 0.8)))
    return colors


def _check_colors(colors: Optional[Sequence], names: Tuple[str, ...]) -> List[tuple]:
    if colors is None:
        return class_colors(len(names))
    if len(colors) != len(names):
        raise ValueError(f'{len(colors)} class colours for {len(names)} classes '
                         f'({", ".join(names)})')
    return [tuple(int(c) for c in color) for color in colors]


def _atomic_write(path: Path, data: Union[str, bytes]) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    path = Path(path)
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding='utf-8', newline='')
        else:
            tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _select(det: Detections, keep: np.ndarray) -> Detections:
    """``det`` with only the boxes where ``keep`` is True."""
    return replace(det, bboxes=det.bboxes[keep], scores=det.scores[keep],
                   labels=det.label_array[keep])


def _boxes_and_scores(det: Detections) -> tuple:
    """Boxes rounded to 1/100 px and scores to 1e-5, as Python lists for the text formats."""
    return (np.round(det.bboxes.astype(np.float64), 2).tolist(),
            np.round(det.scores.astype(np.float64), 5).tolist())


def _checked_labels(det: Detections, names: Tuple[str, ...]) -> List[int]:
    labels = det.label_array
    if len(labels) != len(det.scores):
        raise ValueError(f'{det.path}: {len(labels)} labels for {len(det.scores)} boxes')
    if len(labels) and (labels.min() < 0 or labels.max() >= len(names)):
        raise ValueError(f'{det.path}: label {int(labels.max())} outside the {len(names)} '
                         f'classes ({", ".join(names)})')
    return labels.tolist()


def write_json(det: Detections, path: Path, class_names: ClassNames) -> None:
    """``{"image", "width", "height", "class_name", "num_tiles", "skipped_tiles",
    "tissue_fraction", "detections": [{"bbox": [x1, y1, x2, y2], "score"}]}`` with boxes in
    image pixels, by descending score.

    With several classes ``"class_name"`` gives way to ``"classes"`` (the list) and each
    detection has its ``"label"`` (index into it) and ``"class_name"``.
    """
    names = _names(class_names)
    boxes, scores = _boxes_and_scores(det)
    if len(names) == 1:
        head = dict(class_name=names[0])
        detections = [dict(bbox=b, score=s) for b, s in zip(boxes, scores)]
    else:
        head = dict(classes=list(names))
        detections = [dict(bbox=b, score=s, label=lb, class_name=names[lb])
                      for b, s, lb in zip(boxes, scores, _checked_labels(det, names))]
    record = dict(image=str(det.path), width=det.width, height=det.height, **head,
                  num_tiles=det.num_tiles, skipped_tiles=det.skipped_tiles,
                  tissue_fraction=det.tissue_fraction, detections=detections)
    _atomic_write(path, json.dumps(record))


def write_csv(det: Detections, path: Path, class_names: Optional[ClassNames] = None) -> None:
    """One row per box: ``x1,y1,x2,y2,score`` (header included), image pixels; with several
    ``class_names`` also ``label,class_name``."""
    names = _names(class_names) if class_names is not None else ('', )
    boxes, scores = _boxes_and_scores(det)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if len(names) == 1:
        writer.writerow(['x1', 'y1', 'x2', 'y2', 'score'])
        writer.writerows(b + [s] for b, s in zip(boxes, scores))
    else:
        writer.writerow(['x1', 'y1', 'x2', 'y2', 'score', 'label', 'class_name'])
        writer.writerows(b + [s, lb, names[lb]]
                         for b, s, lb in zip(boxes, scores, _checked_labels(det, names)))
    _atomic_write(path, buffer.getvalue())


def geojson_features(det: Detections, class_names: ClassNames,
                     colors: Optional[Sequence[Sequence[int]]] = None) -> list:
    """Boxes as GeoJSON Features QuPath imports as detection objects.

    Each box is a closed rectangular Polygon ring (5 points, first = last) in image pixels,
    with QuPath's properties: ``objectType`` 'detection', ``classification`` (its class's
    name and RGB colour) and ``measurements`` holding the score.

    Args:
        det (Detections): The detections; ``labels`` index ``class_names``.
        class_names (str | Sequence[str]): The class, or classes.
        colors (Sequence, optional): RGB colour per class. Defaults to None
            (:func:`class_colors`).
    """
    names = _names(class_names)
    classifications = [dict(name=name, color=list(color))
                       for name, color in zip(names, _check_colors(colors, names))]
    labels = _checked_labels(det, names) if len(names) > 1 else [0] * len(det.scores)
    boxes, scores = _boxes_and_scores(det)
    features = []
    for (x1, y1, x2, y2), score, label in zip(boxes, scores, labels):
        ring = [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]
        features.append(dict(
            type='Feature',
            geometry=dict(type='Polygon', coordinates=[ring]),
            properties=dict(objectType='detection',
                            classification=classifications[label],
                            measurements=dict(score=score))))
    return features


def write_geojson(det: Detections, path: Path, class_names: ClassNames,
                  colors: Optional[Sequence[Sequence[int]]] = None) -> None:
    """A GeoJSON FeatureCollection of :func:`geojson_features`."""
    collection = dict(type='FeatureCollection',
                      features=geojson_features(det, class_names, colors))
    # json.dump streams many small chunks through Python; one dumps is ~10x faster here.
    _atomic_write(path, json.dumps(collection))


def score_colors(scores: np.ndarray) -> np.ndarray:
    """``(N, 3)`` uint8 BGR colours of scores in [0, 1] on the 'turbo' map (blue low, red high)."""
    levels = np.clip(np.round(np.asarray(scores, np.float64) * 255), 0, 255).astype(np.uint8)
    if levels.size == 0:  # OpenCV returns None for an empty map
        return np.zeros((0, 3), dtype=np.uint8)
    return cv2.applyColorMap(levels.reshape(-1, 1), cv2.COLORMAP_TURBO).reshape(-1, 3)


def _bgr(colors: Sequence[Sequence[int]]) -> np.ndarray:
    """``(K, 3)`` uint8 BGR of RGB colours."""
    return np.asarray(colors, np.uint8).reshape(-1, 3)[:, ::-1]


def draw_overlay(overview: np.ndarray, factor: float, det: Detections,
                 score_thr: float = 0.5,
                 colors: Optional[Sequence[Sequence[int]]] = None) -> np.ndarray:
    """A copy of ``overview`` with the boxes scoring at least ``score_thr``, coloured by score
    (or, with ``colors``, by class: the RGB colour of each box's label).

    Boxes are drawn from low to high score so the most confident stay visible on top.
    """
    canvas = overview.copy()
    keep = det.scores >= score_thr
    order = np.argsort(det.scores[keep], kind='stable')
    boxes = np.round(det.bboxes[keep][order] * factor).astype(np.int64)
    box_colors = (score_colors(det.scores[keep][order]) if colors is None else
                  _bgr(colors)[det.label_array[keep][order]])
    for box, color in zip(boxes.tolist(), box_colors.tolist()):
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


# Height of one class row of :func:`class_legend_panel`.
LEGEND_ROW = 20


def class_legend_panel(width: int, class_names: Sequence[str],
                       colors: Sequence[Sequence[int]], counts: Sequence[int],
                       score_thr: float, pixel_size: Optional[float]) -> np.ndarray:
    """A white BGR strip, ``LEGEND_ROW`` px per class plus 24: per class a swatch of its
    colour, its name and its number of boxes drawn; then the drawing threshold and the pixel
    size (or 'unknown')."""
    panel = np.full((LEGEND_ROW * len(class_names) + 24, max(width, 320), 3), 255, np.uint8)
    for row, (name, color, count) in enumerate(zip(class_names, _bgr(colors), counts)):
        y = row * LEGEND_ROW
        panel[y + 5:y + 17, 10:30] = color
        _text(panel, f'{name}: {count}', 38, y + 15)
    size = 'unknown' if pixel_size is None else f'{pixel_size:.3g} um/px'
    _text(panel, f'boxes drawn: score >= {score_thr:g}; pixel size: {size}', 10,
          panel.shape[0] - 8, 0.4)
    return panel


def _stack(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """``top`` above ``bottom``, the narrower padded with white on the right."""
    width = max(top.shape[1], bottom.shape[1])
    padded = [cv2.copyMakeBorder(im, 0, 0, 0, width - im.shape[1], cv2.BORDER_CONSTANT,
                                 value=(255, 255, 255)) if im.shape[1] < width else im
              for im in (top, bottom)]
    return np.concatenate(padded)


def draw_overlay_with_legend(overview: np.ndarray, factor: float, det: Detections,
                             score_thr: float = 0.5,
                             pixel_size: Optional[float] = None,
                             class_names: Optional[ClassNames] = None,
                             colors: Optional[Sequence[Sequence[int]]] = None) -> np.ndarray:
    """:func:`draw_overlay` above a legend: the score scale (:func:`legend_panel`) for one
    class, the classes with their colours and counts (:func:`class_legend_panel`) for
    several."""
    names = _names(class_names) if class_names is not None else ('', )
    keep = det.scores >= score_thr
    if len(names) == 1:
        drawn = draw_overlay(overview, factor, det, score_thr)
        panel = legend_panel(drawn.shape[1], score_thr, pixel_size, int(keep.sum()))
        return _stack(drawn, panel)
    colors = _check_colors(colors, names)
    _checked_labels(det, names)
    drawn = draw_overlay(overview, factor, det, score_thr, colors)
    counts = np.bincount(det.label_array[keep], minlength=len(names)).tolist()
    return _stack(drawn, class_legend_panel(drawn.shape[1], names, colors, counts, score_thr,
                                            pixel_size))


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
                 pixel_size: Optional[float] = None, cell: int = 16,
                 title: str = '') -> np.ndarray:
    """The overview with a detection-density heat map blended over it, and its legend.

    Cells of ``cell`` overview pixels are coloured by their count of detections scoring at
    least ``score_thr`` (smoothed over neighbouring cells, 'inferno' map, empty cells
    transparent); the legend gives the count of the hottest cell, and its density per mm^2
    when the pixel size is known, after ``title`` (e.g. the class) when one is given.
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
    if title:
        _text(panel, title, 234, 20)
    _text(panel, text, 10, 36, 0.4)
    return _stack(blended, panel)


def draw_class_heatmaps(overview: np.ndarray, factor: float, det: Detections,
                        class_names: Sequence[str], score_thr: float = 0.5,
                        pixel_size: Optional[float] = None, cell: int = 16,
                        colors: Optional[Sequence[Sequence[int]]] = None) -> np.ndarray:
    """One :func:`draw_heatmap` per class, titled by the class (with a swatch of its colour),
    on a grid of ``ceil(sqrt(K))`` columns."""
    names = _names(class_names)
    colors = _check_colors(colors, names)
    labels = np.asarray(_checked_labels(det, names), np.int64)
    panels = []
    for label, (name, color) in enumerate(zip(names, _bgr(colors))):
        panel = draw_heatmap(overview, factor, _select(det, labels == label), score_thr,
                             pixel_size, cell, title=name)
        panel[panel.shape[0] - 32:panel.shape[0] - 18, 216:228] = color  # beside the title
        panels.append(panel)
    height = max(p.shape[0] for p in panels)
    width = max(p.shape[1] for p in panels)
    columns = int(np.ceil(np.sqrt(len(panels))))
    rows = -(-len(panels) // columns)
    grid = np.full((rows * height, columns * width, 3), 255, np.uint8)
    for index, panel in enumerate(panels):
        y, x = (index // columns) * height, (index % columns) * width
        grid[y:y + panel.shape[0], x:x + panel.shape[1]] = panel
    return grid


def write_png(image: np.ndarray, path: Path) -> None:
    """Write a BGR image as PNG (atomically); raises ``OSError`` naming ``path`` when OpenCV
    cannot encode it."""
    ok, encoded = cv2.imencode('.png', image)
    if not ok:
        raise OSError(f'{path}: OpenCV could not write the PNG')
    _atomic_write(path, encoded.tobytes())


def export_detections(det: Detections, out_dir: Path, stem: str,
                      overview: Optional[Overview] = None, *,
                      class_name: Optional[str] = None,
                      class_names: Optional[Sequence[str]] = None,
                      class_colors: Optional[Sequence[Sequence[int]]] = None,
                      overlay_score_thr: float = 0.5,
                      pixel_size: Optional[float] = None) -> Dict[str, Path]:
    """Write ``<stem>.json``, ``.csv``, ``.geojson`` and, with an overview, ``_overlay.png``
    (boxes and a legend) and, for images cut into more than one window, ``_heatmap.png``.

    Args:
        det (Detections): The image's detections; ``labels`` index the class names.
        out_dir (Path): Output folder (created).
        stem (str): Name of the outputs relative to ``out_dir``; it may hold folders
            (``caseA/slide1``), created too.
        overview (Overview, optional): The image's overview the PNGs draw on
            (:meth:`ImageReader.read_overview`). Defaults to None (no PNG).
        class_name (str, optional): Name of the one detected class.
        class_names (Sequence[str], optional): Names of the classes (give this or
            ``class_name``); with more than one, every format carries each box's class.
        class_colors (Sequence, optional): RGB colour per class for GeoJSON and PNGs.
            Defaults to None (:func:`class_colors`).
        overlay_score_thr (float): Boxes drawn and counted from this score. Defaults to 0.5.
        pixel_size (float, optional): The image's um/px, shown in the legends. Defaults to
            None (unknown).

    Returns:
        Dict[str, Path]: The written files by kind ('json', 'csv', 'geojson', 'overlay',
        'heatmap').

    Raises:
        ValueError: Unless exactly one of ``class_name`` and ``class_names`` is given, or for
            labels outside the classes.
    """
    if (class_name is None) == (class_names is None):
        raise ValueError('export_detections: give class_name or class_names (not both)')
    names = _names(class_name if class_name is not None else class_names)
    colors = _check_colors(class_colors, names)
    base = Path(out_dir) / stem
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = dict(json=base.with_name(f'{base.name}.json'),
                 csv=base.with_name(f'{base.name}.csv'),
                 geojson=base.with_name(f'{base.name}.geojson'))
    write_json(det, paths['json'], names)
    write_csv(det, paths['csv'], names)
    write_geojson(det, paths['geojson'], names, colors)
    if overview is not None:
        paths['overlay'] = base.with_name(f'{base.name}_overlay.png')
        write_png(draw_overlay_with_legend(overview.image, overview.factor, det,
                                           overlay_score_thr, pixel_size, names, colors),
                  paths['overlay'])
        if det.num_tiles + det.skipped_tiles > 1:
            paths['heatmap'] = base.with_name(f'{base.name}_heatmap.png')
            heatmap = (draw_heatmap(overview.image, overview.factor, det, overlay_score_thr,
                                    pixel_size) if len(names) == 1 else
                       draw_class_heatmaps(overview.image, overview.factor, det, names,
                                           overlay_score_thr, pixel_size, colors=colors))
            write_png(heatmap, paths['heatmap'])
    return paths
