"""Train a detector with mmdet-dghm registered; the command line of mmdet's ``tools/train.py``.

Example::

    python tools/train.py configs/digestpath/retinanet_r18_fpn_dghmc_digestpath.py \
        --work-dir work_dirs/dghmc --cfg-options train_dataloader.dataset.fold=1

``--resume`` alone resumes from the latest checkpoint of the work directory, ``--resume PATH``
from that checkpoint. Distributed: ``tools/dist_train.sh`` (``--launcher pytorch``).
"""
import argparse
from typing import List, Optional

from mmdet.utils import setup_cache_size_limit_of_dynamo
from mmengine.config import Config

import mmdet_dghm  # noqa: F401  registers the plugin even for configs without custom_imports
from mmdet_dghm.engine import add_common_args, build_runner, load_config


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector (mmdet-dghm)')
    parser.add_argument('config', help='train config file')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (AmpOptimWrapper, dynamic loss scale)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by total batch size / auto_scale_lr.base_batch_size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or (no value) from the latest one '
                        'in the work directory')
    add_common_args(parser)
    return parser.parse_args(argv)


def train_config(args: argparse.Namespace) -> Config:
    """The training config: :func:`load_config` plus ``--amp``, ``--auto-scale-lr``, ``--resume``.

    Raises:
        KeyError: ``--auto-scale-lr`` with a config lacking ``auto_scale_lr.base_batch_size``.
    """
    cfg = load_config(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise KeyError(f'--auto-scale-lr: {args.config} has no '
                           f'auto_scale_lr.base_batch_size')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    setup_cache_size_limit_of_dynamo()
    build_runner(train_config(args)).train()


if __name__ == '__main__':
    main()
