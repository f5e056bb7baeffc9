from .cpu_distributed import setup_cpu_distributed
from .pixel_size_hook import PixelSizeHook

__all__ = ['PixelSizeHook', 'setup_cpu_distributed']
