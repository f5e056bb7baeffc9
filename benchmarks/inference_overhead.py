"""Measure what whole-image inference spends outside the model's forward (target: <= 10%),
and what the tissue mask saves on a slide that is mostly glass.

Usage:
    python -m benchmarks.inference_overhead [--config CONFIG] [--size 2000] [--tile-size 800]
        [--overlap 200] [--batch-size 4] [--score-thr 0.0] [--max-per-img 1000]
        [--repeats 3] [--slide-size 3000] [--threads N] [--device cpu]
        [--out benchmarks/inference_overhead.md]

A synthetic ``size x size`` H&E-like JPEG is generated, the config's model gets random weights
(no download) saved as a checkpoint and loaded back strictly, and the complete user path of
``tools/infer.py`` is timed: open the image, read its overview in chunks and compute the
tissue mask on it, read the tissue windows (a background thread reads the next batch during the
forward of the current one), batch, forward, shift and merge (suppression by intersection over
the smaller box), and write JSON, CSV, GeoJSON, the overlay and heat-map PNGs. "Forward" is the
time inside the model (normalisation, network, box decoding and per-window NMS); everything
else is overhead. ``--score-thr 0`` keeps ``--max-per-img`` boxes in every
window (random weights score low), the worst case for merging and writing. One warm-up run,
then the median of ``--repeats`` runs.

Slide-like: the central half of the image on a ``--slide-size`` px glass background, run once
with and once without the tissue mask.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.apis import TiledDetector, TissueMask, build_detector, export_detections
from mmdet_dghm.fileio import open_image
from mmdet_dghm.testing import generate_synthetic_digestpath

DEFAULT_CONFIG = 'configs/digestpath/retinanet_r18-light_fpn_dghmc_digestpath.py'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--size', type=int, default=2000, help='image side in pixels')
    parser.add_argument('--tile-size', type=int, default=800)
    parser.add_argument('--overlap', type=int, default=200)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--score-thr', type=float, default=0.0)
    parser.add_argument('--max-per-img', type=int, default=1000)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--slide-size', type=int, default=3000,
                        help='side of the slide-like image (0: skip that measurement)')
    parser.add_argument('--threads', type=int, default=0,
                        help="torch intra-op threads; 0 keeps torch's default")
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', type=Path, default=Path('benchmarks/inference_overhead.md'))
    return parser.parse_args()


def run_once(detector: TiledDetector, image: Path, out_dir: Path, masked: bool = True) -> dict:
    """Time one complete inference of ``image`` as ``tools/infer.py`` runs it."""
    start = time.perf_counter()
    with open_image(image) as reader:
        overview = reader.read_overview(2048)
        tissue = TissueMask.from_thumbnail(overview.image, overview.factor) if masked else None
        det = detector.detect(reader, tissue=tissue)
    detected = time.perf_counter()
    export_detections(det, out_dir, image.stem, overview=overview,
                      class_names=detector.class_names)
    end = time.perf_counter()
    return dict(total=end - start, forward=det.forward_seconds,
                read_merge=detected - start - det.forward_seconds, write=end - detected,
                tiles=det.num_tiles, skipped=det.skipped_tiles, boxes=len(det.scores))


def slide_like(image: Path, out: Path, side: int) -> Path:
    """The central half of ``image`` pasted in the middle of a ``side`` px glass slide."""
    tissue = cv2.imread(str(image))
    height, width = tissue.shape[:2]
    crop = tissue[height // 4:height // 4 + height // 2, width // 4:width // 4 + width // 2]
    noise = np.random.default_rng(0).normal(0, 2, (side, side, 3))
    slide = np.clip(np.array([236, 236, 238]) + noise, 0, 255).astype(np.uint8)
    y0, x0 = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    slide[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop
    cv2.imwrite(str(out), slide, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return out


def read_only(detector: TiledDetector, image: Path) -> float:
    """Seconds to open the image and read every window, with nothing overlapping it."""
    start = time.perf_counter()
    with open_image(image) as reader:
        for x1, y1, x2, y2 in detector.windows(reader.width, reader.height).tolist():
            reader.read_region(x1, y1, x2 - x1, y2 - y1)
    return time.perf_counter() - start


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    cpuinfo = Path('/proc/cpuinfo')
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    return platform.processor() or 'unknown CPU'


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = generate_synthetic_digestpath(tmp / 'data', num_pos=1, num_neg=0,
                                              image_size=args.size, seed=0).pos_images[0]
        torch.manual_seed(0)
        checkpoint = tmp / 'random.pth'
        torch.save(dict(state_dict=build_detector(args.config, None).state_dict()), checkpoint)
        model = build_detector(args.config, checkpoint, device=args.device,
                               score_thr=args.score_thr, max_per_img=args.max_per_img)
        # The synthetic image is drawn at the model's resolution.
        detector = TiledDetector(model, tile_size=args.tile_size, overlap=args.overlap,
                                 batch_size=args.batch_size, pixel_size=model.pixel_size)
        run_once(detector, image, tmp / 'out')  # warm-up: allocator, lazy inits
        runs = [run_once(detector, image, tmp / 'out') for _ in range(args.repeats)]
        reading = statistics.median(read_only(detector, image) for _ in range(args.repeats))
        slide_runs = {}
        if args.slide_size:
            slide = slide_like(image, tmp / 'slide.jpeg', args.slide_size)
            slide_runs = {masked: run_once(detector, slide, tmp / 'out', masked)
                          for masked in (True, False)}
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    overhead = med['total'] - med['forward']
    share = overhead / med['total']
    lines = [
        '# Whole-image inference: time outside the model forward',
        '',
        f'Measured by `python -m benchmarks.inference_overhead --size {args.size} --tile-size '
        f'{args.tile_size} --overlap {args.overlap} --batch-size {args.batch_size} '
        f'--score-thr {args.score_thr} --max-per-img {args.max_per_img} --repeats '
        f'{args.repeats} --device {args.device}` with `{args.config}` (random weights).',
        '',
        f'Machine: {platform.machine()}, {cpu_name()}, {os.cpu_count()} cores, '
        f'{torch.get_num_threads()} torch threads, device `{args.device}`, torch '
        f'{torch.__version__}, Python {platform.python_version()}; 1-minute load average '
        f'{os.getloadavg()[0]:.1f} at the end (other jobs share the machine).',
        '',
        f'Image: synthetic {args.size} x {args.size} JPEG, {med["tiles"]:.0f} windows of '
        f'{args.tile_size} px, {med["boxes"]:.0f} merged boxes written.',
        '',
        '| quantity (median of runs) | seconds | share of total |',
        '|---|---|---|',
        f'| total (read, tile, forward, merge, write) | {med["total"]:.3f} | 100% |',
        f'| model forward | {med["forward"]:.3f} | {med["forward"] / med["total"]:.1%} |',
        f'| everything else | {overhead:.3f} | {share:.1%} |',
        f'| - reading + overview + merge NMS (not hidden by prefetch) | '
        f'{med["read_merge"]:.3f} | {med["read_merge"] / med["total"]:.1%} |',
        f'| - writing JSON, CSV, GeoJSON, overlay PNG | {med["write"]:.3f} | '
        f'{med["write"] / med["total"]:.1%} |',
        '',
        f'Throughput: {med["tiles"] / med["total"]:.2f} tiles/s end to end, '
        f'{med["tiles"] / med["forward"]:.2f} tiles/s in the forward alone.',
        '',
        f'Reading every window alone (no model running) takes {reading:.3f} s; during inference '
        'a reading thread overlaps it with the forward of the previous batch.',
        '',
        f'Target (everything outside the forward <= 10% of total, tissue mask included): '
        f'{"met" if share <= 0.10 else "NOT met"} ({share:.1%}).',
        '',
        'Runs (total / forward s): ' + ', '.join(f'{r["total"]:.2f} / {r["forward"]:.2f}'
                                                for r in runs),
        '',
        'The share depends on the device: reading, merging and writing cost the same on any '
        'device while a GPU shortens the forward; rerun with `--device cuda` there.',
    ]
    if slide_runs:
        on, off = slide_runs[True], slide_runs[False]
        windows = on['tiles'] + on['skipped']
        lines += [
            '',
            '## Tissue mask on a slide-like image',
            '',
            f'The central half of the image on a {args.slide_size} x {args.slide_size} px glass '
            f'background: {windows} windows, of which the mask skips {on["skipped"]} '
            f'({on["skipped"] / windows:.0%}). One run each:',
            '',
            '| run | windows run | seconds | boxes |',
            '|---|---|---|---|',
            f'| tissue mask (default) | {on["tiles"]} | {on["total"]:.2f} | {on["boxes"]} |',
            f'| `--no-tissue-mask` | {off["tiles"]} | {off["total"]:.2f} | {off["boxes"]} |',
            '',
            f'Time saved by the mask: {1 - on["total"] / off["total"]:.0%}.',
        ]
    text = '\n'.join(lines) + '\n'
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == '__main__':
    main()
