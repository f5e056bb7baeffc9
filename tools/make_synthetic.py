"""Writes a synthetic DigestPath2019-like data set in the challenge layout.

Example::

    python tools/make_synthetic.py data/synthetic --num-pos 24 --num-neg 24 \
        --image-size 640 --scale 0.5 --seed 0
"""
import argparse
import sys

import numpy as np

from mmdet_dghm.testing import generate_synthetic_digestpath


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir', help='destination root (gets sig-train-pos/ and sig-train-neg/)')
    p.add_argument('--num-pos', type=int, default=24, help='positive images (with XML)')
    p.add_argument('--num-neg', type=int, default=24, help='negative images (no SRC)')
    p.add_argument('--image-size', type=int, nargs='+', default=[640],
                   help='image side, or height and width, in pixels at --scale')
    p.add_argument('--seed', type=int, default=0, help='same seed, same bytes')
    p.add_argument('--scale', type=float, default=0.5,
                   help='magnification relative to 40x (0.5: SRC box median 28 px)')
    p.add_argument('--box-median-40x', type=float, default=56.0,
                   help='median SRC box size sqrt(w*h) at 40x in pixels')
    p.add_argument('--box-log-sigma', type=float, default=0.27,
                   help='log-normal spread of SRC box sizes')
    p.add_argument('--images-per-slide', type=int, default=4,
                   help='images sharing one slide id and stain')
    p.add_argument('--src-coverage', type=float, nargs=2, default=[0.04, 0.2],
                   metavar=('MIN', 'MAX'),
                   help='range of the share of a positive image covered by SRC boxes')
    p.add_argument('--cluster-share', type=float, nargs=2, default=[0.3, 0.8],
                   metavar=('MIN', 'MAX'), help='range of the share of SRCs in clusters')
    p.add_argument('--lookalike-density', type=float, default=1.0,
                   help='multiplier on the number of SRC look-alikes')
    p.add_argument('--jpeg-quality', type=int, default=90)
    p.add_argument('--overwrite', action='store_true',
                   help='replace .jpeg/.xml files already in the output folders')
    args = p.parse_args(argv)
    if len(args.image_size) not in (1, 2):
        p.error('--image-size takes one value (side) or two (height width)')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    size = args.image_size[0] if len(args.image_size) == 1 else tuple(args.image_size)
    summary = generate_synthetic_digestpath(
        args.out_dir, num_pos=args.num_pos, num_neg=args.num_neg, image_size=size,
        seed=args.seed, scale=args.scale, box_median_40x=args.box_median_40x,
        box_log_sigma=args.box_log_sigma, images_per_slide=args.images_per_slide,
        src_coverage=tuple(args.src_coverage), cluster_share=tuple(args.cluster_share),
        lookalike_density=args.lookalike_density, jpeg_quality=args.jpeg_quality,
        overwrite=args.overwrite, progress=True)
    wh = summary.box_wh
    print(f'\nwrote {len(summary.pos_images)} positive and {len(summary.neg_images)} '
          f'negative images to {summary.out_dir}, {summary.num_boxes} boxes')
    if summary.num_boxes:
        p5, p50, p95 = np.percentile(np.sqrt(wh[:, 0] * wh[:, 1]), [5, 50, 95])
        print(f'box size sqrt(w*h): median {p50:.1f} px, 5-95% {p5:.1f}-{p95:.1f} px')
    return 0


if __name__ == '__main__':
    sys.exit(main())
