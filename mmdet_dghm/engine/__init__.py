from .cpu_distributed import setup_cpu_distributed
from .pixel_size_hook import PixelSizeHook
from .runner_cli import LAUNCHERS, add_common_args, build_runner, load_config

__all__ = ['LAUNCHERS', 'PixelSizeHook', 'add_common_args', 'build_runner', 'load_config',
           'setup_cpu_distributed']
