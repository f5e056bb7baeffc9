from .cpu_distributed import setup_cpu_distributed
from .partial_teacher_hook import PartialTeacherHook, check_teacher_pipeline
from .pixel_size_hook import PixelSizeHook
from .runner_cli import LAUNCHERS, add_common_args, build_runner, load_config

__all__ = ['LAUNCHERS', 'PartialTeacherHook', 'PixelSizeHook', 'add_common_args',
           'build_runner', 'check_teacher_pipeline', 'load_config', 'setup_cpu_distributed']
