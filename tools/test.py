"""Test (and evaluate) a checkpoint with mmdet-dghm registered; mmdet's ``tools/test.py`` CLI.

Example::

    python tools/test.py configs/digestpath/retinanet_r18_fpn_dghmc_digestpath.py \
        work_dirs/dghmc/epoch_14.pth --out work_dirs/dghmc/results.pkl --show-dir vis
"""
import argparse
from typing import List, Optional

from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmdet.evaluation import DumpDetResults
from mmdet.utils import setup_cache_size_limit_of_dynamo
from mmengine.config import Config

import mmdet_dghm  # noqa: F401  registers the plugin even for configs without custom_imports
from mmdet_dghm.engine import add_common_args, build_runner, load_config


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector (mmdet-dghm)')
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='also dump the predictions to this .pkl file')
    parser.add_argument('--show', action='store_true', help='display the predictions')
    parser.add_argument('--show-dir', help='save painted predictions under '
                        '<work_dir>/<timestamp>/<show_dir>')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each image is shown with --show')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out {args.out}: the dump file must end in .pkl or .pickle')
    return args


def load_test_config(args: argparse.Namespace) -> Config:
    """The test config: :func:`mmdet_dghm.engine.load_config`, the checkpoint, and the show
    options."""
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    return cfg


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    setup_cache_size_limit_of_dynamo()
    runner = build_runner(load_test_config(args))
    if args.out is not None:
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
    runner.test()


if __name__ == '__main__':
    main()
