"""Gradient-norm histogram of a trained detector by anchor group (paper figures 3 and 6).

Runs the model over (seeded random) training tiles, assigns anchors with the head's own
assigner, computes g = |sigmoid(x) - t| for every valid anchor and splits it into AP_P
(positives), AP_N (negatives of partially annotated images) and NP_N (negatives of normal
images); writes a log-y histogram PNG and its counts as JSON beside it.

Example::

    python -m benchmarks.grad_histogram work_dirs/ce/config.py work_dirs/ce/iter_300.pth \
        --data-root /data/digestpath/half-scale --out benchmarks/grad_hist_ce.png
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from .harness.grad_histogram import GROUPS, gradient_histogram, summarize


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='model config (its train_dataloader.dataset is used)')
    p.add_argument('checkpoint', help='trained weights')
    p.add_argument('--data-root', help="data root replacing the config's")
    p.add_argument('--split', choices=('train', 'val', 'all'), default='train')
    p.add_argument('--drop-rate', type=float, default=None,
                   help="missing rate replacing the config's training one")
    p.add_argument('--tile-size', type=int, default=None,
                   help="tile side (default: the config's training tiles)")
    p.add_argument('--max-tiles', type=int, default=64, help='tiles drawn at random')
    p.add_argument('--bins', type=int, default=10, help='unit regions of [0, 1]')
    p.add_argument('--seed', type=int, default=0, help='seed of the tile draw')
    p.add_argument('--title', default=None)
    p.add_argument('--device', default='cpu')
    p.add_argument('--out', default='benchmarks/grad_hist.png',
                   help='PNG path (counts: same name .json)')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    record = gradient_histogram(args.config, args.checkpoint, Path(args.out),
                                data_root=args.data_root, split=args.split,
                                drop_rate=args.drop_rate, tile_size=args.tile_size,
                                max_tiles=args.max_tiles, bins=args.bins, seed=args.seed,
                                title=args.title, device=args.device)
    counts = [record['counts'][name] for name in GROUPS]
    hard = summarize(counts)
    print(f'{record["num_valid"]} valid anchors over {record["num_tiles"]} tiles -> {args.out}')
    for name in GROUPS:
        print(f'  {name}: {sum(record["counts"][name])} anchors, '
              f'{hard[name]:.4f} with g >= 0.5')
    return 0


if __name__ == '__main__':
    sys.exit(main())
