"""Saving the model's training pixel size into every checkpoint."""
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import Runner

from ..structures import check_pixel_size


@HOOKS.register_module()
class PixelSizeHook(Hook):
    """Write the config's top-level ``pixel_size`` (micrometres per pixel of the tiles the
    model sees) into ``checkpoint['meta']['pixel_size']``, where inference reads it.

    Add it with ``custom_hooks = [dict(type='PixelSizeHook')]``; the DigestPath configs do.

    Raises:
        ValueError: At the start of training when the config has no positive ``pixel_size``.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.pixel_size: Optional[float] = None

    def before_run(self, runner: Runner) -> None:
        name = getattr(runner.cfg, 'filename', None) or 'config'
        value = runner.cfg.get('pixel_size')
        if value is None:
            raise ValueError(f'{name}: PixelSizeHook needs a top-level pixel_size (micrometres '
                             'per pixel of the training tiles)')
        self.pixel_size = check_pixel_size(value, f'{name} pixel_size')

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['pixel_size'] = self.pixel_size
