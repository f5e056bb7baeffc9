"""Reading DigestPath source images: header-only sizes and scaled BGR decoding."""
from pathlib import Path
from typing import Tuple

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

_REDUCED_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
                  4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def scaled_size(width: int, height: int, scale: float) -> Tuple[int, int]:
    """``(width, height)`` of an image after the dataset's ``scale`` (rounded, at least 1)."""
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def read_image_size(path: Path) -> Tuple[int, int]:
    """``(width, height)`` from the image header, without decoding pixels.

    Raises:
        ValueError: Naming ``path`` when the file is missing or not a readable image.
    """
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError) as err:
        raise ValueError(f"{path}: not a readable image ({err})") from err


def _decode_jpeg(path: Path, data: bytes, scale: float) -> np.ndarray:
    # libjpeg only warns on a truncated stream and fills the rest with gray, so check that
    # the stream ends with the end-of-image marker (trailing zero padding is tolerated).
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise ValueError(f"{path}: truncated JPEG (no end-of-image marker)")
    # DCT-domain downscaling: decoding at 1/2, 1/4 or 1/8 is several times faster than
    # decoding at full size and resizing.
    reduction = max((r for r in (1, 2, 4, 8) if r * scale <= 1.0), default=1)
    flag = _REDUCED_FLAGS[reduction]
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag)
    if image is None:
        raise ValueError(f"{path}: unreadable JPEG")
    return image


def _decode_other(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as err:
        raise ValueError(f"{path}: unreadable or truncated image ({err})") from err
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def read_scaled_image(path: Path, scale: float = 1.0) -> np.ndarray:
    """Decode a whole image as 3-channel BGR uint8 (mmdet's order), resized by ``scale``.

    Grayscale, palette, RGBA and CMYK images are converted to 3-channel colour. JPEG is
    decoded by OpenCV (about twice as fast as Pillow here), with DCT scaling when
    ``scale <= 1/2``; other formats by Pillow. The result is resized (area interpolation) to
    exactly ``scaled_size(width, height, scale)``, the size the dataset's coordinates use.

    Args:
        path (Path): Image file.
        scale (float): Resize factor.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 BGR.

    Raises:
        ValueError: Naming ``path`` when it is missing, unreadable or truncated.
    """
    width, height = read_image_size(path)
    data = Path(path).read_bytes()
    if data[:2] == b"\xff\xd8":
        image = _decode_jpeg(path, data, scale)
    else:
        image = _decode_other(path)
    target = scaled_size(width, height, scale)
    if (image.shape[1], image.shape[0]) != target:
        image = cv2.resize(image, target, interpolation=cv2.INTER_AREA)
    return image
