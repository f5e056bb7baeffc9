"""Writing whole-image detections: JSON, CSV, QuPath GeoJSON and a downscaled overlay PNG."""
import csv
import json
from pathlib import Path
from typing import Dict, Optional

import cv2
import numpy as np

from .inference import DEFAULT_CLASS_NAME, Detections

# QuPath's colour of the class (RGB), shown when the GeoJSON is imported.
CLASS_COLOR_RGB = (220, 20, 60)


def _boxes_and_scores(det: Detections) -> tuple:
    """Boxes rounded to 1/100 px and scores to 1e-5, as Python lists for the text formats."""
    return (np.round(det.bboxes.astype(np.float64), 2).tolist(),
            np.round(det.scores.astype(np.float64), 5).tolist())


def write_json(det: Detections, path: Path, class_name: str = DEFAULT_CLASS_NAME) -> None:
    """``{"image", "width", "height", "class_name", "num_tiles", "detections": [{"bbox":
    [x1, y1, x2, y2], "score"}]}`` with boxes in image pixels, by descending score."""
    boxes, scores = _boxes_and_scores(det)
    record = dict(image=str(det.path), width=det.width, height=det.height,
                  class_name=class_name, num_tiles=det.num_tiles,
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


def geojson_features(det: Detections, class_name: str = DEFAULT_CLASS_NAME) -> list:
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


def write_geojson(det: Detections, path: Path, class_name: str = DEFAULT_CLASS_NAME) -> None:
    """A GeoJSON FeatureCollection of :func:`geojson_features`."""
    collection = dict(type='FeatureCollection', features=geojson_features(det, class_name))
    # json.dump streams many small chunks through Python; one dumps is ~10x faster here.
    with open(path, 'w', encoding='utf-8') as f:
        f.write(json.dumps(collection))


class OverviewCanvas:
    """A downscaled copy of a whole image, assembled from the windows as they are read.

    Args:
        width (int): Image width.
        height (int): Image height.
        max_size (int): Longest side of the overview; images smaller than it keep their size.
    """

    def __init__(self, width: int, height: int, max_size: int) -> None:
        if max_size < 1:
            raise ValueError(f'max_size={max_size} must be positive')
        self.factor = min(1.0, max_size / max(width, height))
        shape = (max(1, round(height * self.factor)), max(1, round(width * self.factor)), 3)
        self.image = np.full(shape, 255, dtype=np.uint8)

    def paste(self, tile: np.ndarray, x: int, y: int) -> None:
        """Downscale a BGR window whose top-left is ``(x, y)`` into place."""
        height, width = tile.shape[:2]
        x0, y0 = round(x * self.factor), round(y * self.factor)
        x1, y1 = round((x + width) * self.factor), round((y + height) * self.factor)
        if x1 > x0 and y1 > y0:
            self.image[y0:y1, x0:x1] = tile if self.factor == 1.0 else cv2.resize(
                tile, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)


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


def write_png(image: np.ndarray, path: Path) -> None:
    """Write a BGR image as PNG; raises ``OSError`` naming ``path`` when OpenCV cannot."""
    if not cv2.imwrite(str(path), image):
        raise OSError(f'{path}: OpenCV could not write the PNG')


def export_detections(det: Detections, out_dir: Path, stem: str,
                      overview: Optional[OverviewCanvas] = None,
                      class_name: str = DEFAULT_CLASS_NAME,
                      overlay_score_thr: float = 0.5) -> Dict[str, Path]:
    """Write ``<stem>.json``, ``.csv``, ``.geojson`` and (with an overview) ``_overlay.png``.

    Returns:
        Dict[str, Path]: The written files by kind ('json', 'csv', 'geojson', 'overlay').
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
        write_png(draw_overlay(overview.image, overview.factor, det, overlay_score_thr),
                  paths['overlay'])
    return paths
