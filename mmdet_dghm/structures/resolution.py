"""Pixel sizes (micrometres per pixel): checking them and choosing the pyramid level to read.

A model sees tiles at one pixel size; an input comes at its own, possibly as a pyramid of
levels. Inference reads the level nearest the model's pixel size *from the fine side* and
resizes it, so it never upsamples when a finer level exists.
"""
from typing import Optional, Sequence

#: Pixel sizes within this relative distance count as equal (scanners report 0.2520 for
#: nominal 0.25 um/px, and pyramid levels are rounded to whole pixels).
PIXEL_SIZE_RTOL = 0.01


def check_pixel_size(value: Optional[float], source: str) -> Optional[float]:
    """``value`` as a float, or None when absent.

    Args:
        value (float, optional): Micrometres per pixel.
        source (str): Where the value comes from, named in the error.

    Returns:
        float, optional: The pixel size, or None.

    Raises:
        ValueError: Naming ``source`` when ``value`` is not a positive finite number.
    """
    if value is None:
        return None
    try:
        size = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f'{source}: pixel size {value!r} is not a number') from err
    if not 0 < size < float('inf'):
        raise ValueError(f'{source}: pixel size {value!r} must be a positive number of '
                         'micrometres per pixel')
    return size


def same_pixel_size(a: float, b: float) -> bool:
    """Whether two pixel sizes agree within :data:`PIXEL_SIZE_RTOL`."""
    return abs(a - b) <= PIXEL_SIZE_RTOL * max(a, b)


def choose_level(level_pixel_sizes: Sequence[float], target: float) -> int:
    """Index of the pyramid level to read for a model at ``target`` um/px.

    The coarsest level whose pixel size is at most ``target`` (within
    :data:`PIXEL_SIZE_RTOL`): it holds at least the detail the model was trained on and is
    the cheapest to read and shrink. When every level is coarser than ``target``, the finest
    one (it is then upsampled).

    Args:
        level_pixel_sizes (Sequence[float]): Pixel size of each level.
        target (float): The model's pixel size.

    Returns:
        int: The chosen index into ``level_pixel_sizes``.
    """
    if not level_pixel_sizes:
        raise ValueError('choose_level needs at least one level')
    limit = target * (1 + PIXEL_SIZE_RTOL)
    fine_enough = [i for i, size in enumerate(level_pixel_sizes) if size <= limit]
    if not fine_enough:
        return min(range(len(level_pixel_sizes)), key=lambda i: level_pixel_sizes[i])
    return max(fine_enough, key=lambda i: level_pixel_sizes[i])
