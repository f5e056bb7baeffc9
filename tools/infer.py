"""Detect signet ring cells in images of any size with a trained checkpoint.

Usage:
    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] --out-dir OUT
        [--tile-size 800] [--overlap 200] [--batch-size 4] [--score-thr 0.05]
        [--max-per-img 1000] [--ios-thr 0.5] [--overlay-score-thr 0.5] [--no-tissue-mask]
        [--min-saturation 25] [--max-overview-size 2048] [--pixel-size UM] [--class-name NAME]
        [--device cpu] [--cfg-options KEY=VALUE ...]

INPUT: JPEG, PNG, TIFF (tiled TIFFs are read tile by tile, so their size is not limited by
memory) or whole-slide files (.svs, .ndpi, ... with `pip install mmdet-dghm[wsi]`), or folders
of them. For each image NAME the tool writes to OUT: NAME.json and NAME.csv (boxes in image
pixels and scores), NAME.geojson (a FeatureCollection QuPath imports as detections: File >
Import objects), NAME_overlay.png (a downscaled overview with the boxes scoring at least
--overlay-score-thr, coloured by score from blue to red, under a legend), NAME_heatmap.png (the
detection density over the overview, for images of more than one window) and NAME.done.json,
written last: a rerun skips the images whose marker and outputs exist. summary.csv holds one
row per image (see mmdet_dghm.apis.SlideSummary), also printed.

Windows without tissue (HSV saturation below Otsu's threshold on the overview, and below
--min-saturation) are skipped and boxes centred on background dropped, unless
--no-tissue-mask. Of the boxes of one cell from overlapping windows (more than --ios-thr of the
smaller inside the other) the best scored is kept.

Resolution: a model trained with a `pixel_size` (micrometres per pixel, saved in its checkpoint)
reads each input at that pixel size, from the nearest pyramid level, and writes boxes in the
input's full-resolution pixels. The input's pixel size comes from its file (TIFF resolution tags,
OpenSlide's mpp) or from --pixel-size, which wins; an input without one (JPEG, PNG, an untagged
TIFF) needs --pixel-size.

The class name written in NAME.json and NAME.geojson is the checkpoint's (its
``dataset_meta['classes']``, else the config's test dataset's) unless --class-name gives one.

An image that cannot be read (or whose pixel size is missing) is recorded (summary status
'error') and the others run; the exit status is then 1.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from mmengine.config import DictAction

import mmdet_dghm  # noqa: F401  (registers the plugin's modules)
from mmdet_dghm.apis import TiledDetector, format_summary, run_cohort
from mmdet_dghm.apis.inference import DEFAULT_IOS_THR
from mmdet_dghm.apis.tissue_mask import MIN_SATURATION
from mmdet_dghm.fileio import list_images
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
    parser.add_argument('--ios-thr', type=float, default=DEFAULT_IOS_THR,
                        help='boxes overlapping by more than this share of the smaller one '
                             f'are one cell (default: {DEFAULT_IOS_THR})')
    parser.add_argument('--overlay-score-thr', type=float, default=0.5,
                        help='operating threshold: detections counted in the summary and '
                             'drawn on the overlay (default: 0.5)')
    parser.add_argument('--no-tissue-mask', action='store_true',
                        help='run every window, including background')
    parser.add_argument('--min-saturation', type=int, default=MIN_SATURATION,
                        help='saturation (0-255) below which pixels are background whatever '
                             f'Otsu says (default: {MIN_SATURATION})')
    parser.add_argument('--max-overview-size', type=int, default=2048,
                        help='longest side of the overlay PNG (default: 2048)')
    parser.add_argument('--pixel-size', type=float, default=None, metavar='UM',
                        help="the inputs' pixel size in micrometres per pixel (e.g. 0.25 at "
                             "40x), overriding their files' resolution tags")
    parser.add_argument('--class-name', default=None, metavar='NAME',
                        help="class name written with the detections (default: the "
                             "checkpoint's dataset_meta classes)")
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


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        images = list_images(args.inputs)
        check_unique_stems(images)
        detector = TiledDetector.from_config(
            args.config, args.checkpoint, device=args.device, score_thr=args.score_thr,
            max_per_img=args.max_per_img, cfg_options=args.cfg_options,
            tile_size=args.tile_size, overlap=args.overlap, batch_size=args.batch_size,
            ios_thr=args.ios_thr, pixel_size=args.pixel_size, class_name=args.class_name)
        check_pixel_size(args.pixel_size, '--pixel-size')
        # A model without class names fails here, once, rather than on every image.
        _ = detector.class_name
    except (ValueError, ImportError) as err:
        print(f'infer.py: error: {err}', file=sys.stderr)
        return 2
    if args.pixel_size is not None:
        print(f'infer.py: every input taken at --pixel-size {args.pixel_size:g} um/px (their '
              "files' resolution tags are ignored)", file=sys.stderr)
    rows = run_cohort(detector, images, args.out_dir, args.overlay_score_thr,
                      show_progress=not args.no_progress,
                      use_tissue_mask=not args.no_tissue_mask,
                      min_saturation=args.min_saturation,
                      max_overview_size=args.max_overview_size)
    print(format_summary(rows))
    failed = [row.slide for row in rows if row.status == 'error']
    if failed:
        print(f'infer.py: {len(failed)} of {len(images)} images failed: ' + ', '.join(failed),
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
