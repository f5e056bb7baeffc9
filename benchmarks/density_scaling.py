"""Whether DGHM-C's weights change with the batch size: the paper's density vs the scale-free ones.

Runs a model, as initialised for training and trained, over (seeded random) training tiles of
the training crop size, draws batches of several sizes in the training composition (one
positive tile for three negatives) and measures, for ``density='paper'`` (eq. 10),
``'normalized'`` and ``'rescaled'`` (to the smallest batch size), the weight of each group's
outliers (g >= lambda) against its inliers: noisy outliers are suspected missed objects, clean
ones mostly missed positives.
Writes a Markdown section with the table and a PNG beside it.

Example::

    python -m benchmarks.density_scaling RUN_DIR/config.py RUN_DIR/iter_300.pth
"""
import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

from .harness.density_scaling import (
    plot_ratios,
    ratios_by_batch_size,
    ratios_table,
    tile_elements,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='config of a trained DGHM-C model (its training dataset)')
    p.add_argument('checkpoint', help='trained weights')
    p.add_argument('--tile-size', type=int, default=256,
                   help='tile side: the training crop, so that a tile is one batch element')
    p.add_argument('--max-tiles', type=int, default=128, help='tiles drawn at random')
    p.add_argument('--batch-sizes', type=int, nargs='+', default=[4, 8, 16, 32])
    p.add_argument('--pos-fraction', type=float, default=0.25,
                   help='share of positive tiles per batch')
    p.add_argument('--draws', type=int, default=50, help='batches per batch size')
    p.add_argument('--mu-noisy', type=float, default=2.0, help='mu_n of eq. (11)')
    p.add_argument('--mu-clean', type=float, default=0.5, help='mu_c of eq. (11)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='benchmarks/density_scaling.md', help='Markdown path')
    p.add_argument('--figure', default=None,
                   help="the plot (default: figures/<the markdown's name>/ratios.png beside "
                   'the markdown)')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    kwargs = dict(mu_noisy=args.mu_noisy, mu_clean=args.mu_clean)
    ratios, counts = {}, {}
    for state, checkpoint in (('initialised', None), ('trained', args.checkpoint)):
        tiles = tile_elements(args.config, checkpoint, args.tile_size, args.max_tiles,
                              args.seed)
        counts[state] = len(tiles)
        ratios[state] = ratios_by_batch_size(tiles, args.batch_sizes, args.pos_fraction,
                                            args.draws, kwargs, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    png = Path(args.figure) if args.figure else out.parent / 'figures' / out.stem / 'ratios.png'
    png.parent.mkdir(parents=True, exist_ok=True)
    plot_ratios(ratios, f'DGHM-C, mu_n {args.mu_noisy:g}, mu_c {args.mu_clean:g}', png)
    table = ratios_table(ratios)
    command = 'python -m benchmarks.density_scaling ' + ' '.join(
        [Path(args.config).name, Path(args.checkpoint).name] + (argv or sys.argv[1:])[2:])
    lines = [
        '# DGHM-C weights against the batch size', '',
        "Harmonizing weight of each DGHM-C group's outliers (g >= 0.9) over that of its "
        'inliers: noisy = negatives of partially annotated images (AP_N), clean = positives '
        f'and negatives of normal images. Median over {args.draws} batches per size drawn from '
        f'{counts["trained"]} training tiles of {args.tile_size} px (1 positive : 3 '
        f'negative), mu_n {args.mu_noisy:g}, mu_c {args.mu_clean:g}; the model as initialised '
        f'for training and trained (`{Path(args.checkpoint).name}` of '
        f"`{Path(args.config).parent.name}`). The paper's form scales this ratio as R ** "
        '(1 - gamma) when the batch grows (R: elements per bin), a scale-free weighting keeps it '
        "(last column 1); `normalized` divides the counts by the group's size, `rescaled` "
        f'rescales them to the mean size of the B = {min(args.batch_sizes)} batches. n/a: the '
        'group has no outliers.', '']
    link = Path(os.path.relpath(png, out.parent)).as_posix()
    lines += table + ['', f'![outlier weight ratio vs batch size]({link})', '',
                      f'Command: `{command}`', '']
    out.write_text('\n'.join(lines))
    print('\n'.join(table))
    print(f'-> {out}, {png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
