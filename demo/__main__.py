"""The main job end to end: data, DGHM-C training from scratch, evaluation, inference, report.

Run from the repository root (``make demo``; ``bash tools/demo.sh`` does it from anywhere)::

    python -m demo                             # synthetic data (generated), ~15 min on 2 CPU cores
    DIGESTPATH_ROOT=/data/digestpath python -m demo   # the real half-scale split instead
    python -m demo --profile smoke             # a few iterations on a tiny set (the test's path)

Everything lands under --work-dir (default work_dirs/demo): the data, mmengine's logs and
checkpoint, the metric's FROC curve and predictions, the inference tool's outputs and
``report.md``.
"""
import argparse
import os
import sys
from pathlib import Path

from .pipeline import PROFILES, run_demo


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/demo', help='output folder')
    parser.add_argument('--profile', choices=sorted(PROFILES), default='default',
                        help='size of the run (smoke: seconds, for tests)')
    parser.add_argument('--data-root', default=None,
                        help='DigestPath-layout folder to use instead of generated data '
                             '(default: $DIGESTPATH_ROOT/half-scale when DIGESTPATH_ROOT is set)')
    parser.add_argument('--synthetic', action='store_true',
                        help='use generated data even when DIGESTPATH_ROOT is set')
    parser.add_argument('--iters', type=int, default=None, help='override training iterations')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    data_root = args.data_root
    if data_root is None and not args.synthetic and os.environ.get('DIGESTPATH_ROOT'):
        data_root = str(Path(os.environ['DIGESTPATH_ROOT']) / 'half-scale')
    report = run_demo(Path(args.work_dir), profile=args.profile, data_root=data_root,
                      iters=args.iters, seed=args.seed)
    print(f'\nDemo report: {report}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
