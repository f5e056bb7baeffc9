"""Detect signet ring cells in images of any size with a trained checkpoint.

Usage:
    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] --out-dir OUT
        [--tile-size 800] [--overlap 200] [--batch-size 4] [--score-thr 0.05]
        [--max-per-img 1000] [--nms-iou-thr 0.5] [--overlay-score-thr 0.5]
        [--max-overview-size 2048] [--pixel-size UM] [--device cpu]
        [--cfg-options KEY=VALUE ...]

INPUT: JPEG, PNG, TIFF (tiled TIFFs are read tile by tile, so their size is not limited by
memory) or whole-slide files (.svs, .ndpi, ... with `pip install mmdet-dghm[wsi]`), or folders
of them. For each image NAME the tool writes to OUT: NAME.json and NAME.csv (boxes in image
pixels and scores), NAME.geojson (a FeatureCollection QuPath imports as detections: File >
Import objects) and NAME_overlay.png (a downscaled overview with the boxes scoring at least
--overlay-score-thr, coloured by score from blue to red).

Resolution: a model trained with a `pixel_size` (micrometres per pixel, saved in its checkpoint)
reads each input at that pixel size, from the nearest pyramid level, and writes boxes in the
input's full-resolution pixels. The input's pixel size comes from its file (TIFF resolution tags,
OpenSlide's mpp) or from --pixel-size, which wins; an input without one (JPEG, PNG, an untagged
TIFF) needs --pixel-size.

An image that cannot be read is reported and skipped; the exit status is then 1.
"""
import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional

from mmengine.config import DictAction
from tqdm import tqdm

import mmdet_dghm  # noqa: F401  (registers the plugin's modules)
from mmdet_dghm.apis import OverviewCanvas, TiledDetector, export_detections
from mmdet_dghm.fileio import list_images, open_image
from mmdet_dghm.structures import check_pixel_size


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Detect signet ring cells in whole images, tile by tile',
        epilog='Outputs per image: NAME.json, NAME.csv, NAME.geojson, NAME_overlay.png')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file matching the config')
    parser.add_argument('inputs', nargs='+', help='image files or folders of images')
    parser.add_argument('--out-dir', required=True, type=Path, help='output folder')
    parser.add_argument('--tile-size', type=int, default=800,
                        help='window side in pixels, as in training (default: 800)')
    parser.add_argument('--overlap', type=int, default=200,
                        help='pixels shared by neighbouring windows; larger than a cell '
                             '(default: 200)')
    parser.add_argument('--batch-size', type=int, default=4, help='windows per forward pass')
    parser.add_argument('--score-thr', type=float, default=0.05,
                        help='lowest score kept (default: 0.05)')
    parser.add_argument('--max-per-img', type=int, default=1000,
                        help='most boxes kept per window (default: 1000)')
    parser.add_argument('--nms-iou-thr', type=float, default=0.5,
                        help='IoU of the NMS merging windows (default: 0.5)')
    parser.add_argument('--overlay-score-thr', type=float, default=0.5,
                        help='lowest score drawn on the overlay (default: 0.5)')
    parser.add_argument('--max-overview-size', type=int, default=2048,
                        help='longest side of the overlay PNG (default: 2048)')
    parser.add_argument('--pixel-size', type=float, default=None, metavar='UM',
                        help="the inputs' pixel size in micrometres per pixel (e.g. 0.25 at "
                             "40x), overriding their files' resolution tags")
    parser.add_argument('--device', default='cpu', help='torch device, e.g. cuda:0')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, KEY=VALUE')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bars')
    return parser.parse_args(argv)


def check_unique_stems(images: List[Path]) -> None:
    """Outputs are named after the image stem: two inputs with one stem would overwrite."""
    seen = {}
    for image in images:
        if image.stem in seen:
            raise ValueError(f'{seen[image.stem]} and {image} would write the same outputs '
                             f'({image.stem}.*); rename one or run them separately')
        seen[image.stem] = image


def process(detector: TiledDetector, image: Path, args: argparse.Namespace) -> str:
    """Detect in one image, write its outputs and return a summary line."""
    start = time.perf_counter()
    with open_image(image) as reader:
        canvas = OverviewCanvas(reader.width, reader.height, args.max_overview_size)
        num_windows = detector.count_windows(reader)
        with tqdm(total=num_windows, desc=image.name, unit='tile', leave=False,
                  disable=args.no_progress) as bar:
            det = detector.detect(reader, on_tile=canvas.paste, progress=bar.update)
    paths = export_detections(det, args.out_dir, image.stem, overview=canvas,
                              class_name=detector.class_name,
                              overlay_score_thr=args.overlay_score_thr)
    confident = int((det.scores >= args.overlay_score_thr).sum())
    return (f'{image}: {det.width} x {det.height}, {det.resolution.describe()}, '
            f'{det.num_tiles} tiles, {len(det.scores)} detections ({confident} >= '
            f'{args.overlay_score_thr}) in {time.perf_counter() - start:.1f} s -> '
            f'{paths["json"].with_suffix(".*")}')


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        images = list_images(args.inputs)
        check_unique_stems(images)
        detector = TiledDetector.from_config(
            args.config, args.checkpoint, device=args.device, score_thr=args.score_thr,
            max_per_img=args.max_per_img, cfg_options=args.cfg_options,
            tile_size=args.tile_size, overlap=args.overlap, batch_size=args.batch_size,
            nms_iou_thr=args.nms_iou_thr, pixel_size=args.pixel_size)
        check_pixel_size(args.pixel_size, '--pixel-size')
    except (ValueError, ImportError) as err:
        print(f'infer.py: error: {err}', file=sys.stderr)
        return 2
    if args.pixel_size is not None:
        print(f'infer.py: every input taken at --pixel-size {args.pixel_size:g} um/px (their '
              "files' resolution tags are ignored)", file=sys.stderr)
    failed = []
    for image in tqdm(images, desc='images', unit='image', disable=args.no_progress):
        try:
            line = process(detector, image, args)
        except (ValueError, ImportError, OSError) as err:
            failed.append(image)
            tqdm.write(f'infer.py: error: {err}', file=sys.stderr)
            continue
        tqdm.write(line)
    if failed:
        print(f'infer.py: {len(failed)} of {len(images)} images failed: '
              + ', '.join(map(str, failed)), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
