"""The Runner of a command-line tool: the arguments mmdet's ``tools/train.py`` and
``tools/test.py`` share, the config they load and the Runner built from it."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .cpu_distributed import setup_cpu_distributed

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
    """The config file ``args.config`` with the common command-line overrides applied.

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


__all__ = ['LAUNCHERS', 'add_common_args', 'build_runner', 'load_config']
