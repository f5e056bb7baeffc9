"""Train a detector with mmdet-dghm registered; the command line of mmdet's ``tools/train.py``.

Example::

    python tools/train.py configs/digestpath/retinanet_r18_fpn_dghmc_digestpath.py \
        --work-dir work_dirs/dghmc --cfg-options train_dataloader.dataset.fold=1

``--resume`` alone resumes from the latest checkpoint of the work directory, ``--resume PATH``
from that checkpoint. Distributed: ``tools/dist_train.sh`` (``--launcher pytorch``).
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

from mmdet.utils import setup_cache_size_limit_of_dynamo
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmdet_dghm  # noqa: F401  registers the plugin even for configs without custom_imports
from mmdet_dghm.engine import setup_cpu_distributed

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by train.py and test.py (``--work-dir``, ``--cfg-options``, launch)."""
    parser.add_argument('--work-dir', help="folder for logs and checkpoints (default: "
                        "the config's work_dir, else ./work_dirs/<config name>)")
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, key=value (e.g. model.backbone.init_cfg=None '
        'train_dataloader.batch_size=4); lists as key="[a,b]", no spaces')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    # torch.distributed.run passes --local-rank (torch >= 2.0), older launchers --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """The config file with the common command-line overrides applied.

    Priority of the work directory: ``--work-dir``, then the config's ``work_dir``, then
    ``./work_dirs/<config file name>``.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def build_runner(cfg: Config) -> Runner:
    """mmengine's Runner, or the registered one the config names in ``runner_type``.

    Without CUDA and with a launcher, a gloo process group and a CPU DDP wrapper are set up
    first (mmengine 0.10.7 assumes a GPU there).
    """
    setup_cpu_distributed(cfg, cfg.get('launcher', 'none'))
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


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
