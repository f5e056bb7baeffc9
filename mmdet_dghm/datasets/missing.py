"""Controlled label missing rate (paper Sec. 4.6): drop a fixed share of each image's boxes."""
import zlib

import numpy as np


def drop_mask(num_boxes: int, drop_rate: float, seed: int, key: str) -> np.ndarray:
    """Which of an image's boxes are removed from training.

    Exactly ``round(drop_rate * num_boxes)`` boxes are removed, chosen by a generator seeded
    with ``seed`` and a CRC of ``key`` (the image name), so the choice is the same in every
    tile, epoch, worker and process (Python's ``hash`` is salted per process; CRC32 is not).

    Args:
        num_boxes (int): Boxes annotated on the image.
        drop_rate (float): Missing rate ``eta`` in ``[0, 1]``.
        seed (int): Experiment seed.
        key (str): Stable per-image key, e.g. the file name.

    Returns:
        np.ndarray: ``(num_boxes,)`` bool, True for removed boxes.

    Raises:
        ValueError: If ``drop_rate`` is outside ``[0, 1]``.
    """
    if not 0.0 <= drop_rate <= 1.0:
        raise ValueError(f'drop_rate={drop_rate} must be in [0, 1]')
    removed = np.zeros(num_boxes, dtype=bool)
    num_removed = int(round(drop_rate * num_boxes))
    if num_removed:
        rng = np.random.default_rng([seed, zlib.crc32(key.encode('utf-8'))])
        removed[rng.choice(num_boxes, size=num_removed, replace=False)] = True
    return removed
