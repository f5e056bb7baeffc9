"""Detect objects (cells of the model's classes) in images and slides of any size with a
trained checkpoint, on one process or many.

Usage:
    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] --out-dir OUT
        [--tile-size 800] [--overlap 200] [--batch-size 4] [--score-thr 0.05]
        [--max-per-img 1000] [--ios-thr 0.5] [--overlay-score-thr 0.5] [--no-tissue-mask]
        [--min-saturation 25] [--max-overview-size 2048] [--pixel-size UM]
        [--classes NAME [NAME ...]] [--class-name NAME] [--recursive] [--input-root DIR]
        [--fp16] [--num-workers 1] [--device cpu] [--launcher none] [--cfg-options KEY=VALUE ...]
    bash tools/dist_infer.sh CONFIG CHECKPOINT NPROC INPUT [INPUT ...] --out-dir OUT [options]
    bash tools/slurm_infer.sh PARTITION JOB_NAME CONFIG CHECKPOINT INPUT ... --out-dir OUT

INPUT: JPEG, PNG, TIFF (tiled TIFFs are read tile by tile, so their size is not limited by
memory) or whole-slide files (.svs, .ndpi, ... with `pip install mmdet-dghm[wsi]`), or folders
of them (with --recursive, their subfolders too). For each image NAME the tool writes to
OUT, or, when two images share a NAME (caseA/slide1.svs, caseB/slide1.svs) or --input-root is
given, to OUT/REL where REL is the image's folder relative to the inputs' deepest common folder
(or --input-root), so the outputs mirror the input folders and never collide:
NAME.json and NAME.csv (boxes in image pixels, scores and, for several classes, each box's
class), NAME.geojson (a FeatureCollection QuPath imports as detections: File > Import objects,
classified by class, one colour each), NAME_overlay.png (a downscaled overview with the boxes
scoring at least --overlay-score-thr, coloured by score for one class, by class for several,
under a legend), NAME_heatmap.png (the detection density over the overview, per class for
several, for images of more than one window) and NAME.done.json, written last: a rerun skips
the images whose marker and outputs exist. OUT/summary.csv holds one row per image (see
mmdet_dghm.apis.SlideSummary; per-class counts and densities for several classes), also
printed.

Windows without tissue (HSV saturation below Otsu's threshold on the overview, and below
--min-saturation) are skipped and boxes centred on background dropped, unless
--no-tissue-mask. Of the boxes of one cell from overlapping windows (more than --ios-thr of the
smaller inside the other) the best scored is kept, class by class.

Resolution: a model trained with a `pixel_size` (micrometres per pixel, saved in its checkpoint)
reads each input at that pixel size, from the nearest pyramid level, and writes boxes in the
input's full-resolution pixels. The input's pixel size comes from its file (TIFF resolution tags,
OpenSlide's mpp) or from --pixel-size, which wins; an input without one (JPEG, PNG, an untagged
TIFF) needs --pixel-size.

Classes: the checkpoint's (its ``dataset_meta['classes']``, else the config's test dataset's).
--classes keeps some of them (an unknown name is an error listing the model's); --class-name
renames the one class written (of a one-class model, or the one kept by --classes).

Distributed (--launcher pytorch under torchrun, slurm under srun; tools/dist_infer.sh and
tools/slurm_infer.sh): each process takes a share of the unfinished images balanced by their
window counts, on its own GPU (--device cuda) or CPU cores (gloo); rank 0 writes the summary of
the whole cohort. A process that dies leaves every finished image valid; rerunning the same
command does only what is missing.

Any error of one image (unreadable, no pixel size, out of memory...) is recorded in the summary
(status 'error', the error type and message), the others run, and the exit status is then 1
(2 for an error of the command itself: arguments, config, checkpoint, classes).
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

import torch
from mmengine.config import DictAction

import mmdet_dghm  # noqa: F401  (registers the plugin's modules)
from mmdet_dghm.apis import (
    LAUNCHERS,
    TiledDetector,
    find_slides,
    format_summary,
    init_distributed,
    local_device,
    output_keys,
    run_cohort,
)
from mmdet_dghm.apis.inference import DEFAULT_IOS_THR
from mmdet_dghm.apis.tissue_mask import MIN_SATURATION
from mmdet_dghm.structures import check_pixel_size


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Detect the model's classes in whole images and slides, tile by tile",
        epilog='Outputs per image in --out-dir: NAME.json, NAME.csv, NAME.geojson, '
               'NAME_overlay.png, NAME_heatmap.png (in the input folders mirrored there when '
               'two images share a NAME, or with --input-root)')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file matching the config')
    parser.add_argument('inputs', nargs='+', help='image files or folders of images')
    parser.add_argument('--out-dir', required=True, type=Path, help='output folder')
    parser.add_argument('--tile-size', type=int, default=800,
                        help='window side in pixels, as in training (default: 800)')
    parser.add_argument('--overlap', type=int, default=200,
                        help='pixels shared by neighbouring windows; larger than a cell '
                             '(default: 200)')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='windows per forward pass (default: 4)')
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
    parser.add_argument('--classes', nargs='+', default=None, metavar='NAME',
                        help="the model's classes to keep, by name (default: all)")
    parser.add_argument('--class-name', default=None, metavar='NAME',
                        help="name written for the one class detected (default: the "
                             "checkpoint's dataset_meta classes)")
    parser.add_argument('--recursive', action='store_true',
                        help="take the images of the input folders' subfolders too")
    parser.add_argument('--input-root', type=Path, default=None, metavar='DIR',
                        help='mirror the input folders under this one in --out-dir (default: '
                             'only when two images share a name, under the deepest folder '
                             'holding every input); keeps the layout of a growing cohort')
    parser.add_argument('--fp16', action='store_true',
                        help='backbone and neck in float16 on CUDA, bfloat16 on the CPU (fast '
                             'on CPUs with bfloat16 instructions); head and NMS in float32')
    parser.add_argument('--num-workers', type=int, default=1,
                        help='threads reading windows ahead of the model (default: 1)')
    parser.add_argument('--device', default='cpu',
                        help="torch device, e.g. cuda:0; 'cuda' with a launcher: each "
                             "process's local GPU")
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher: pytorch (torchrun, tools/dist_infer.sh) or slurm '
                             '(srun, tools/slurm_infer.sh)')
    # torch.distributed.launch passes --local-rank (torchrun sets LOCAL_RANK instead).
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, KEY=VALUE')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bars')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        rank, world = init_distributed(args.launcher)
    except ValueError as err:
        print(f'infer.py: error: {err}', file=sys.stderr)
        return 2
    prefix = f'[rank {rank}] ' if world > 1 else ''
    try:
        images = find_slides(args.inputs, recursive=args.recursive)
        keys = output_keys(images, args.input_root)
        check_pixel_size(args.pixel_size, '--pixel-size')
        detector = TiledDetector.from_config(
            args.config, args.checkpoint, device=local_device(args.device),
            score_thr=args.score_thr, max_per_img=args.max_per_img,
            cfg_options=args.cfg_options, tile_size=args.tile_size, overlap=args.overlap,
            batch_size=args.batch_size, ios_thr=args.ios_thr, pixel_size=args.pixel_size,
            class_name=args.class_name, classes=args.classes, fp16=args.fp16,
            num_workers=args.num_workers)
        # A model without class names, or an unknown --classes, fails here, once.
        _ = detector.class_names
    except (ValueError, ImportError) as err:
        print(f'{prefix}infer.py: error: {err}', file=sys.stderr)
        return 2
    if args.pixel_size is not None and rank == 0:
        print(f'infer.py: every input taken at --pixel-size {args.pixel_size:g} um/px (their '
              "files' resolution tags are ignored)", file=sys.stderr)
    try:
        rows = run_cohort(detector, images, args.out_dir, args.overlay_score_thr,
                          show_progress=not args.no_progress, keys=keys,
                          use_tissue_mask=not args.no_tissue_mask,
                          min_saturation=args.min_saturation,
                          max_overview_size=args.max_overview_size)
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    failed = [row for row in rows if row.status == 'error']
    if rank == 0:
        print(format_summary(rows))
        if failed:
            print(f'infer.py: {len(failed)} of {len(images)} images failed: '
                  + ', '.join(row.slide for row in failed), file=sys.stderr)
            for row in failed:
                print(f'  {row.slide}: {row.error}', file=sys.stderr)
            print(f'infer.py: the failed images are recorded in {args.out_dir / "summary.csv"}; '
                  'rerunning the command retries only them and any unfinished image',
                  file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
