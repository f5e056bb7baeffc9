"""Measure how window seams change the count of detections, per way of merging windows.

Usage:
    python -m benchmarks.seam_merging CONFIG CHECKPOINT IMAGE [--tile-size 320] [--overlap 64]
        [--score 0.3] [--ios-thrs 0.3 0.5 0.7] [--out benchmarks/seam_merging.md]

IMAGE is run as one window and as overlapping windows, merged by IoU-NMS (the detector's own
output on one window) and as the detector merges (at each intersection-over-the-smaller
threshold of suppression, boxes kept only from the window whose core holds their centre).
For each: boxes scoring at least --score, nested pairs among them (one box at least 80% inside
another) and, when a Pascal-VOC IMAGE.xml lies beside it, the recall of its boxes (a box is
found when a detection at or above --score overlaps it with IoU >= 0.5). The image is taken at
the model's pixel size (synthetic images are drawn at it).
"""
import argparse
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
from mmdet.structures.bbox import bbox_overlaps

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.apis import TiledDetector, build_detector
from mmdet_dghm.fileio import read_image_size
from mmdet_dghm.structures import intersection_over_smaller


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image', type=Path)
    parser.add_argument('--tile-size', type=int, default=320)
    parser.add_argument('--overlap', type=int, default=64)
    parser.add_argument('--score', type=float, default=0.3)
    parser.add_argument('--ios-thrs', type=float, nargs='+', default=[0.3, 0.5, 0.7])
    parser.add_argument('--out', type=Path, default=Path('benchmarks/seam_merging.md'))
    return parser.parse_args()


def voc_boxes(image: Path) -> Optional[np.ndarray]:
    """``(N, 4)`` boxes of ``image``'s Pascal-VOC XML, or None without one."""
    xml = image.with_suffix('.xml')
    if not xml.is_file():
        return None
    boxes = [[float(obj.find(f'bndbox/{k}').text) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
             for obj in ET.parse(xml).getroot().iter('object')]
    return np.array(boxes, np.float32).reshape(-1, 4)


def nested_pairs(bboxes: np.ndarray, min_inside: float = 0.8) -> int:
    """Pairs of boxes with at least ``min_inside`` of one inside the other."""
    return sum(int((intersection_over_smaller(b, bboxes[i + 1:]) >= min_inside).sum())
               for i, b in enumerate(bboxes))


def recall(bboxes: np.ndarray, gt: np.ndarray) -> float:
    """Share of ``gt`` boxes overlapped with IoU >= 0.5 by some box."""
    if len(gt) == 0 or len(bboxes) == 0:
        return 0.0
    ious = bbox_overlaps(torch.from_numpy(gt), torch.from_numpy(bboxes)).numpy()
    return float((ious.max(1) >= 0.5).mean())


def _fmt(value: Optional[float]) -> str:
    return '' if value is None else f'{value:.3f}'


def main() -> None:
    args = parse_args()
    model = build_detector(args.config, args.checkpoint, score_thr=0.05)
    width, height = read_image_size(args.image)
    gt = voc_boxes(args.image)
    layouts = dict(one=(max(width, height), 0), tiled=(args.tile_size, args.overlap))
    merges: List[Optional[float]] = [None] + list(args.ios_thrs)
    rows = []
    for ios in merges:
        cells = []
        for tile, overlap in layouts.values():
            detector = TiledDetector(model, tile_size=tile, overlap=overlap, ios_thr=ios,
                                     pixel_size=model.pixel_size)
            det = detector.detect(args.image)
            keep = det.scores >= args.score
            cells.append((det.num_tiles, int(keep.sum()), nested_pairs(det.bboxes[keep]),
                          None if gt is None else recall(det.bboxes[keep], gt)))
        rows.append((ios, cells))
        print(ios, cells)
    tiles = rows[0][1][1][0]
    lines = [
        '# Window seams: one window vs overlapping windows',
        '',
        f'Measured by `python -m benchmarks.seam_merging CONFIG CHECKPOINT {args.image.name} '
        f'--tile-size {args.tile_size} --overlap {args.overlap} --score {args.score}`: '
        f'the {width} x {height} px image as one window and as {tiles} windows of '
        f'{args.tile_size} px overlapping by {args.overlap} px; counts of boxes scoring >= '
        f'{args.score}, nested pairs (one box >= 80% inside another)'
        + ('' if gt is None else f', recall of its {len(gt)} boxes (IoU >= 0.5)') + '.',
        '',
        '| merge | one window: boxes | nested | recall | windows: boxes | nested | recall | '
        'count change |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for ios, ((_, n1, p1, r1), (_, n2, p2, r2)) in rows:
        name = 'IoU-NMS 0.5 (as predicted on one window)' if ios is None else \
            f'IoS suppression > {ios:g}, box from the window whose core holds its centre'
        lines.append(f'| {name} | {n1} | {p1} | {_fmt(r1)} | {n2} | {p2} | {_fmt(r2)} | '
                     f'{(n2 - n1) / max(n1, 1):+.1%} |')
    text = '\n'.join(lines) + '\n'
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == '__main__':
    main()
