"""The pixel size inference works at: the model's, the input's, the level read and the factors.

A model is trained on tiles of one pixel size (micrometres per pixel): the config's top-level
``pixel_size``, saved in the checkpoint's ``meta``. An input has its own pixel size, from its file
or given by the user. Inference reads the pyramid level chosen by :func:`choose_level`, resizes
it to the model's pixel size, cuts windows there and maps every box back to the input's level-0
pixels.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
from mmengine.config import Config

from ..fileio import ImageReader, ResampledReader
from ..structures import check_pixel_size, choose_level, same_pixel_size

#: Largest resampling factor either way: beyond it a pixel size is more likely a wrong tag
#: (e.g. a 72 dpi default) than a real magnification.
MAX_RESAMPLING = 16.0


def model_pixel_size(cfg: Config, meta: dict, checkpoint: Optional[str] = None
                     ) -> Optional[float]:
    """The model's training pixel size: the checkpoint's ``meta['pixel_size']``, else the
    config's top-level ``pixel_size``; None when neither has one.

    Raises:
        ValueError: When a value is not a positive number, or checkpoint and config disagree
            (naming both values).
    """
    name = getattr(cfg, 'filename', None) or 'config'
    from_cfg = check_pixel_size(cfg.get('pixel_size'), f'{name} pixel_size')
    from_meta = check_pixel_size(meta.get('pixel_size'), f'checkpoint {checkpoint} meta')
    if from_meta is not None and from_cfg is not None and not same_pixel_size(from_meta,
                                                                               from_cfg):
        raise ValueError(f'checkpoint {checkpoint} was trained at {from_meta:g} um/px but '
                         f'config {name} says pixel_size={from_cfg:g}: use the config the '
                         'checkpoint was trained with')
    return from_meta if from_meta is not None else from_cfg


@dataclass(frozen=True)
class Resolution:
    """How one input is read for a model.

    Attributes:
        model_pixel_size (float, optional): The model's um/px; None when it has none.
        input_pixel_size (float, optional): The input's level-0 um/px used; None if unknown.
        source (str): Where ``input_pixel_size`` came from: 'file', 'given' (by the user) or
            'unknown'.
        level (int): The input level read.
        scale (float): Model pixels per pixel of that level (1.0: read as is).
    """

    model_pixel_size: Optional[float]
    input_pixel_size: Optional[float]
    source: str
    level: int = 0
    scale: float = 1.0

    @property
    def resampled(self) -> bool:
        """Whether windows are read from a level other than 0 or resized."""
        return self.level != 0 or self.scale != 1.0

    def describe(self) -> str:
        """One line for logs: the pixel sizes, their sources, the level and the factor."""
        if self.model_pixel_size is None:
            return ('model has no pixel_size: assumed the input has the resolution the model '
                    'was trained at')
        origin = {'file': 'from the file', 'given': 'given by --pixel-size'}[self.source]
        return (f'input {self.input_pixel_size:g} um/px ({origin}), model '
                f'{self.model_pixel_size:g} um/px: level {self.level} resized x{self.scale:.4g}')


def plan_resolution(reader: ImageReader, model_size: Optional[float],
                    given_size: Optional[float] = None) -> Resolution:
    """Choose the level and factor that bring ``reader`` to the model's pixel size.

    A given pixel size wins over the file's. Without a model pixel size the input is read as
    is. The level is the coarsest whose pixel size is at most the model's (never upsampling
    when a finer level exists); pixel sizes within 1% count as equal (no resize).

    Args:
        reader (ImageReader): The open input.
        model_size (float, optional): The model's pixel size.
        given_size (float, optional): The input's level-0 pixel size, overriding the file.

    Returns:
        Resolution: The plan.

    Raises:
        ValueError: Naming the file and ``--pixel-size`` when the model has a pixel size and
            the input's is unknown, or when the factor exceeds :data:`MAX_RESAMPLING`.
    """
    given_size = check_pixel_size(given_size, '--pixel-size')
    input_size = given_size if given_size is not None else reader.pixel_size
    source = 'given' if given_size is not None else 'file' if input_size is not None \
        else 'unknown'
    if model_size is None:
        return Resolution(None, input_size, source)
    if input_size is None:
        raise ValueError(f'{reader.path}: the image does not record its pixel size and the model '
                         f'was trained at {model_size:g} um/px; pass --pixel-size (micrometres '
                         'per pixel of the image, e.g. 0.25 for a 40x scan)')
    sizes = [input_size * level.downsample for level in reader.levels]
    level = choose_level(sizes, model_size)
    scale = 1.0 if same_pixel_size(sizes[level], model_size) else sizes[level] / model_size
    if not 1 / MAX_RESAMPLING <= scale <= MAX_RESAMPLING:
        raise ValueError(f'{reader.path}: input {input_size:g} um/px vs model {model_size:g} '
                         f"um/px needs resizing x{scale:.4g}; if the file's resolution tags "
                         'are wrong, pass --pixel-size')
    return Resolution(model_size, input_size, source, level, scale)


def resampled_view(reader: ImageReader, resolution: Resolution) -> ImageReader:
    """``reader`` as the model sees it: itself, or a :class:`ResampledReader` of the level."""
    if not resolution.resampled:
        return reader
    return ResampledReader(reader, resolution.level, resolution.scale)


def to_native(bboxes: np.ndarray, view: ImageReader) -> np.ndarray:
    """``(N, 4)`` boxes in ``view``'s pixels as float32 boxes in its source's level-0 pixels
    (scaled by ``view.to_level0``, 1 for a reader read as is)."""
    return (np.asarray(bboxes, np.float32) * np.float32(view.to_level0)).astype(np.float32)
