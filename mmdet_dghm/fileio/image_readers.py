"""Reading images: header sizes, whole decoding, and region readers for images of any size.

Every image the package reads goes through this module: the dataset (sizes and scaled whole
images), the tile loader (regions of TIFF sources) and inference (JPEG/PNG, (tiled) TIFF and
whole-slide files).

Inference reads an image window by window (``read_region``). TIFF pages are cut into tiles or
strips ("segments") that can be decoded one by one, so a TIFF reader decodes only the segments a
window overlaps and never the whole page: memory stays bounded by the window (plus one row of
segments) however large the image is. JPEG and PNG have no such index and are decoded whole once.
Whole-slide formats (``.svs``, ``.ndpi``, ...) go through OpenSlide when it is installed
(``pip install mmdet-dghm[wsi]``).

Every reader returns 3-channel BGR uint8 (mmdet's order) and raises ``ValueError`` naming the file
when it cannot read it.

Readers also tell the input's resolution: ``pixel_size`` (micrometres per pixel of level 0, None
when the file does not say) and ``levels`` (the pyramid, finest first). TIFFs give it by their
``XResolution``/``ResolutionUnit`` tags (unit inch, centimetre, millimetre or micrometre; no unit
means unknown), whole-slide files by OpenSlide's ``openslide.mpp-x/y``. JPEG, PNG and BMP are
taken as unknown: their dots-per-inch fields describe printing, not a microscope.
:class:`ResampledReader` presents a reader's level at another pixel size; ``to_level0`` says, for
any reader, how many level-0 pixels of the source one of its pixels spans, so callers map
coordinates back without asking which kind of reader they hold. ``read_overview`` gives a
downsampled copy of the whole image (for a tissue mask or a drawing), read from the coarsest
level that is large enough.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple, Union

import cv2
import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

PathLike = Union[str, Path]

RASTER_EXTENSIONS = ('.jpeg', '.jpg', '.png', '.bmp')
TIFF_EXTENSIONS = ('.tif', '.tiff')
WSI_EXTENSIONS = ('.svs', '.ndpi', '.mrxs', '.scn', '.vms', '.vmu', '.svslide', '.bif')
#: Files decoded by this module itself (no OpenSlide): what a dataset folder may hold.
FILE_EXTENSIONS = RASTER_EXTENSIONS + TIFF_EXTENSIONS
IMAGE_EXTENSIONS = FILE_EXTENSIONS + WSI_EXTENSIONS
_TIFF_MAGIC = (b'II*\x00', b'MM\x00*', b'II+\x00', b'MM\x00+')
# TIFF photometric interpretations read here: 0/1 grey (min-is-white/black), 2 RGB.
_GREY_PHOTOMETRIC = (0, 1)
_RGB_PHOTOMETRIC = 2

# Micrometres per TIFF resolution unit (RESUNIT 2 inch, 3 cm, 4 mm, 5 um); 1 (none) is unknown.
_UM_PER_RESUNIT = {2: 25400.0, 3: 10000.0, 4: 1000.0, 5: 1.0}
# x and y pixel sizes further apart than this are refused rather than averaged.
_ANISOTROPY_RTOL = 0.01

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
        raise ValueError(f'{path}: not a readable image ({err})') from err


def _decode_jpeg(path: Path, data: bytes, scale: float) -> np.ndarray:
    # libjpeg only warns on a truncated stream and fills the rest with gray, so check that
    # the stream ends with the end-of-image marker (trailing zero padding is tolerated).
    if not data.rstrip(b'\x00').endswith(b'\xff\xd9'):
        raise ValueError(f'{path}: truncated JPEG (no end-of-image marker)')
    # DCT-domain downscaling: decoding at 1/2, 1/4 or 1/8 is several times faster than
    # decoding at full size and resizing.
    reduction = max((r for r in (1, 2, 4, 8) if r * scale <= 1.0), default=1)
    flag = _REDUCED_FLAGS[reduction]
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag)
    if image is None:
        raise ValueError(f'{path}: unreadable JPEG')
    return image


def _decode_other(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert('RGB'))
    except (OSError, UnidentifiedImageError) as err:
        raise ValueError(f'{path}: unreadable or truncated image ({err})') from err
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
    if data[:2] == b'\xff\xd8':
        image = _decode_jpeg(path, data, scale)
    else:
        image = _decode_other(path)
    target = scaled_size(width, height, scale)
    if (image.shape[1], image.shape[0]) != target:
        image = cv2.resize(image, target, interpolation=cv2.INTER_AREA)
    return image


@dataclass(frozen=True)
class ImageLevel:
    """One level of an image pyramid.

    Attributes:
        width (int): Level width in pixels.
        height (int): Level height in pixels.
        downsample (float): Level-0 pixels per pixel of this level (1.0 for level 0).
    """

    width: int
    height: int
    downsample: float


@dataclass(frozen=True, eq=False)
class Overview:
    """A downsampled copy of a whole image.

    Attributes:
        image (np.ndarray): ``(h, w, 3)`` BGR uint8.
        factor (float): Overview pixels per level-0 pixel (``<= 1``).
    """

    image: np.ndarray
    factor: float


def pixel_size_from_xy(x_size: float, y_size: float, path: Path) -> float:
    """One pixel size from the x and y ones, which must agree (square pixels).

    Raises:
        ValueError: Naming ``path`` when they differ by more than 1%.
    """
    if abs(x_size - y_size) > _ANISOTROPY_RTOL * max(x_size, y_size):
        raise ValueError(f'{path}: pixels are not square ({x_size:g} x {y_size:g} um); '
                         'only square pixels are supported')
    return (x_size + y_size) / 2


class ImageReader:
    """Reads rectangular windows of one image; a context manager closing the file.

    Attributes:
        path (Path): The image file.
        width (int): Image width in pixels (level 0).
        height (int): Image height in pixels (level 0).
        pixel_size (float, optional): Micrometres per level-0 pixel; None when unknown.
        to_level0 (float): Level-0 pixels of the source image per pixel of this reader's
            coordinates: 1.0, except for a :class:`ResampledReader`'s view.
    """

    path: Path
    width: int
    height: int
    pixel_size: Optional[float] = None
    to_level0: float = 1.0

    @property
    def levels(self) -> List[ImageLevel]:
        """The pyramid, finest (level 0, the full image) first; one level by default."""
        return [ImageLevel(self.width, self.height, 1.0)]

    def level_pixel_size(self, level: int) -> Optional[float]:
        """Micrometres per pixel of ``level`` (None when the image's is unknown)."""
        if self.pixel_size is None:
            return None
        return self.pixel_size * self.levels[level].downsample

    def read_region(self, x: int, y: int, width: int, height: int, level: int = 0) -> np.ndarray:
        """The window ``[x, x + width) x [y, y + height)`` of ``level`` (in that level's
        pixels) as ``(height, width, 3)`` BGR uint8.

        Raises:
            ValueError: If the level does not exist, the window leaves it or the file cannot
                be decoded there.
        """
        self._check_window(x, y, width, height, level)
        return self._read(int(x), int(y), int(width), int(height), int(level))

    def _read(self, x: int, y: int, width: int, height: int, level: int) -> np.ndarray:
        raise NotImplementedError

    def read_overview(self, max_size: int, chunk: int = 2048) -> Overview:
        """The whole image shrunk so that its longest side is at most ``max_size`` (images
        smaller than that keep their size).

        It is read from the coarsest level at least as wide as the overview, in ``chunk``
        px squares of that level (memory stays bounded by a chunk), each area-resized into
        place.

        Args:
            max_size (int): Longest side of the overview, in pixels.
            chunk (int): Side of the squares read. Defaults to 2048.

        Returns:
            Overview: The ``(round(height * factor), round(width * factor), 3)`` image
            (at least 1 px a side) and its factor ``min(1, max_size / max(width, height))``.

        Raises:
            ValueError: For a non-positive ``max_size`` or ``chunk``, or a region the file
                cannot decode.
        """
        if max_size < 1 or chunk < 1:
            raise ValueError(f'{self.path}: overview max_size={max_size} and chunk={chunk} '
                             'must be positive')
        factor = min(1.0, max_size / max(self.width, self.height))
        out_width = max(1, round(self.width * factor))
        out_height = max(1, round(self.height * factor))
        image = np.full((out_height, out_width, 3), 255, dtype=np.uint8)
        levels = self.levels
        index = max(i for i, lv in enumerate(levels) if i == 0 or lv.width >= out_width)
        level = levels[index]
        scale_x, scale_y = out_width / level.width, out_height / level.height
        for y in range(0, level.height, chunk):
            for x in range(0, level.width, chunk):
                width, height = min(chunk, level.width - x), min(chunk, level.height - y)
                x0, y0 = round(x * scale_x), round(y * scale_y)
                x1, y1 = round((x + width) * scale_x), round((y + height) * scale_y)
                if x1 > x0 and y1 > y0:
                    tile = self.read_region(x, y, width, height, index)
                    image[y0:y1, x0:x1] = tile if (x1 - x0, y1 - y0) == (width, height) \
                        else cv2.resize(tile, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
        return Overview(image, factor)

    def _check_window(self, x: int, y: int, width: int, height: int, level: int) -> None:
        levels = self.levels
        if not 0 <= level < len(levels):
            raise ValueError(f'{self.path}: no level {level}; the image has {len(levels)}')
        size = levels[level]
        if width <= 0 or height <= 0 or x < 0 or y < 0 or x + width > size.width \
                or y + height > size.height:
            where = f' of level {level}' if level else ''
            raise ValueError(
                f'{self.path}: window at ({x}, {y}) of {width} x {height} is empty or leaves '
                f'the image{where} of {size.width} x {size.height}')

    def close(self) -> None:
        """Release the file (no-op for readers holding decoded pixels)."""

    def __enter__(self) -> 'ImageReader':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RasterReader(ImageReader):
    """JPEG, PNG or BMP, decoded whole once (these formats cannot be decoded by region).

    Decoding reuses the dataset's reader, which also rejects truncated JPEGs that libjpeg would
    silently pad with grey.
    """

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        self._image = read_scaled_image(self.path, 1.0)
        self.height, self.width = self._image.shape[:2]

    def _read(self, x: int, y: int, width: int, height: int, level: int) -> np.ndarray:
        return self._image[y:y + height, x:x + width]


def _to_bgr_uint8(pixels: np.ndarray, photometric: int, path: Path) -> np.ndarray:
    """``(h, w, samples)`` TIFF pixels as BGR uint8 (alpha and extra samples dropped)."""
    if pixels.dtype == np.uint16:
        # Full 16-bit range onto 8 bits: 65535 / 257 = 255 exactly.
        pixels = (pixels // 257).astype(np.uint8)
    elif pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * 255
    elif pixels.dtype != np.uint8:
        raise ValueError(f'{path}: TIFF samples of type {pixels.dtype} are not supported '
                         '(uint8, uint16 or bilevel)')
    if photometric in _GREY_PHOTOMETRIC:
        grey = pixels[..., 0]
        if photometric == 0:
            grey = 255 - grey
        return cv2.cvtColor(np.ascontiguousarray(grey), cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(pixels[..., 2::-1])


def _check_tiff_page(page: tifffile.TiffPage) -> None:
    """Raise ``ValueError`` for a page this module cannot decode."""
    if page.photometric not in _GREY_PHOTOMETRIC + (_RGB_PHOTOMETRIC, ):
        raise ValueError(f'photometric {page.photometric!r}; grey or RGB TIFFs only')
    if page.samplesperpixel > 1 and page.planarconfig != 1:
        raise ValueError('planar (separate) sample layout; contiguous (chunky) only')
    if page.imagedepth > 1:
        raise ValueError(f'a volume of depth {page.imagedepth}')
    if page.photometric == _RGB_PHOTOMETRIC and page.samplesperpixel < 3:
        raise ValueError(f'RGB with {page.samplesperpixel} samples per pixel')
    if len(page.dataoffsets) == 0 or not all(page.databytecounts):
        raise ValueError('page without pixel data')


def tiff_pixel_size(page: tifffile.TiffPage, path: Path) -> Optional[float]:
    """Micrometres per pixel from a page's ``XResolution``, ``YResolution`` and
    ``ResolutionUnit``; None without tags, without a unit (RESUNIT 1) or with zero resolution.

    Raises:
        ValueError: Naming ``path`` for non-square pixels.
    """
    tags = page.tags
    if 'XResolution' not in tags or 'YResolution' not in tags:
        return None
    unit = tags['ResolutionUnit'].value if 'ResolutionUnit' in tags else 2  # TIFF default: inch
    um_per_unit = _UM_PER_RESUNIT.get(int(unit))
    x_num, x_den = tags['XResolution'].value
    y_num, y_den = tags['YResolution'].value
    if um_per_unit is None or not (x_num and x_den and y_num and y_den):
        return None
    return pixel_size_from_xy(um_per_unit * x_den / x_num, um_per_unit * y_den / y_num, path)


class _TiffLevel:
    """Segment geometry of one TIFF page (tiles, or strips as whole-width segments)."""

    def __init__(self, page: tifffile.TiffPage) -> None:
        self.page = page
        self.height, self.width = int(page.imagelength), int(page.imagewidth)
        if page.is_tiled:
            self.seg_h, self.seg_w = int(page.tilelength), int(page.tilewidth)
        else:
            self.seg_h, self.seg_w = int(page.rowsperstrip), self.width
        self.seg_cols = -(-self.width // self.seg_w)


class TiffReader(ImageReader):
    """The first image of a TIFF and its pyramid, decoded segment by segment (tiles or strips).

    A window decodes only the segments it overlaps, read from the file by their offsets, so a
    tiled TIFF of any size is read with memory bounded by the window. A striped TIFF decodes
    whole-width strips; a TIFF written as one strip is therefore decoded whole.

    Pyramid levels are those tifffile finds for the first series (``series[0].levels``: reduced
    images in SubIFDs or in following pages), finest first; levels in a layout this module
    cannot decode are left out. Their pixel size is level 0's times their downsample.

    Raises:
        ValueError: Naming the file for unreadable or unsupported TIFFs (colour spaces other
            than grey/RGB, planar sample layout, volumes, sample types other than uint8/uint16,
            a compression tifffile cannot decode without ``imagecodecs``, or non-square
            pixels).
    """

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        try:
            self._tiff = tifffile.TiffFile(self.path)
        except (OSError, ValueError, tifffile.TiffFileError) as err:
            raise ValueError(f'{self.path}: not a readable TIFF ({err})') from err
        try:
            first = self._tiff.pages.first
        except (IndexError, tifffile.TiffFileError) as err:
            self._tiff.close()
            raise ValueError(f'{self.path}: not a readable TIFF (no valid first page)') from err
        try:
            _check_tiff_page(first)
            self.pixel_size = tiff_pixel_size(first, self.path)
        except ValueError as err:
            self._tiff.close()
            raise ValueError(f'{self.path}: unsupported TIFF ({err})') from err
        self._levels = [_TiffLevel(first)] + [_TiffLevel(p) for p in self._reduced_pages(first)]
        self.width, self.height = self._levels[0].width, self._levels[0].height

    def _reduced_pages(self, first: tifffile.TiffPage) -> List[tifffile.TiffPage]:
        """Decodable pages of the first series' reduced levels, when it starts at ``first``."""
        series = self._tiff.series[0] if self._tiff.series else None
        if series is None or series.keyframe is not first:
            return []
        pages = []
        for level in series.levels[1:]:
            page = level.keyframe
            try:
                _check_tiff_page(page)
            except ValueError:
                continue
            pages.append(page)
        return pages

    @property
    def levels(self) -> List[ImageLevel]:
        """Level 0 and the reduced levels, with downsamples from their widths and heights."""
        base = self._levels[0]
        return [ImageLevel(lv.width, lv.height,
                           (base.width / lv.width + base.height / lv.height) / 2)
                for lv in self._levels]

    def _segment(self, level: _TiffLevel, index: int) -> Tuple[np.ndarray, int, int]:
        """Decoded segment ``index`` of ``level`` as ``(pixels (h, w, samples), y, x)``."""
        page = level.page
        handle = self._tiff.filehandle
        handle.seek(page.dataoffsets[index])
        data = handle.read(page.databytecounts[index])
        try:
            pixels, position, _ = page.decode(data, index)
        except Exception as err:  # tifffile raises codec-specific types
            raise ValueError(f'{self.path}: cannot decode TIFF segment {index} '
                             f'({type(err).__name__}: {err}); the file is corrupt or needs '
                             '`pip install imagecodecs` for its compression') from err
        if pixels is None:
            raise ValueError(f'{self.path}: TIFF segment {index} holds no data')
        # (depth=1, h, w, samples); position is (plane, depth, y, x, sample).
        return pixels[0], int(position[2]), int(position[3])

    def _read(self, x: int, y: int, width: int, height: int, level: int) -> np.ndarray:
        lv = self._levels[level]
        out = None
        rows = range(y // lv.seg_h, (y + height - 1) // lv.seg_h + 1)
        cols = range(x // lv.seg_w, (x + width - 1) // lv.seg_w + 1)
        for row in rows:
            for col in cols:
                pixels, seg_y, seg_x = self._segment(lv, row * lv.seg_cols + col)
                if out is None:
                    out = np.empty((height, width, pixels.shape[-1]), dtype=pixels.dtype)
                # Overlap of the segment (edge segments are padded) with the window.
                y0, y1 = max(y, seg_y), min(y + height, seg_y + pixels.shape[0], lv.height)
                x0, x1 = max(x, seg_x), min(x + width, seg_x + pixels.shape[1], lv.width)
                out[y0 - y:y1 - y, x0 - x:x1 - x] = pixels[y0 - seg_y:y1 - seg_y,
                                                           x0 - seg_x:x1 - seg_x]
        return _to_bgr_uint8(out, int(lv.page.photometric), self.path)

    def close(self) -> None:
        self._tiff.close()


class OpenSlideReader(ImageReader):
    """A whole-slide image and its pyramid through OpenSlide, read region by region.

    Areas outside the scanned tissue (transparent in OpenSlide's RGBA) become white, the
    background of a brightfield slide. The pixel size is OpenSlide's ``openslide.mpp-x`` and
    ``openslide.mpp-y`` (None when the slide lacks them).
    """

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        try:
            import openslide
        except ImportError as err:
            raise ImportError(
                f'{self.path}: whole-slide files need OpenSlide; install the optional extra '
                '`pip install mmdet-dghm[wsi]` (openslide-python and openslide-bin)') from err
        try:
            self._slide = openslide.OpenSlide(str(self.path))
        except openslide.OpenSlideError as err:
            raise ValueError(f'{self.path}: OpenSlide cannot read it ({err})') from err
        self.width, self.height = (int(v) for v in self._slide.dimensions)
        props = self._slide.properties
        mpp = [props.get(f'openslide.mpp-{axis}') for axis in 'xy']
        if None not in mpp:
            try:
                self.pixel_size = pixel_size_from_xy(float(mpp[0]), float(mpp[1]), self.path)
            except ValueError as err:
                self._slide.close()
                raise ValueError(f'{self.path}: bad openslide.mpp-x/y {mpp} ({err})') from err

    @property
    def levels(self) -> List[ImageLevel]:
        """OpenSlide's levels with their downsamples."""
        return [ImageLevel(int(w), int(h), float(d)) for (w, h), d in
                zip(self._slide.level_dimensions, self._slide.level_downsamples)]

    def _read(self, x: int, y: int, width: int, height: int, level: int) -> np.ndarray:
        # OpenSlide places a region by its top-left in level-0 pixels.
        downsample = self._slide.level_downsamples[level]
        origin = (int(round(x * downsample)), int(round(y * downsample)))
        rgba = np.asarray(self._slide.read_region(origin, level, (width, height)))
        alpha = rgba[..., 3:4].astype(np.uint16)
        # OpenSlide un-premultiplies its RGBA: blend onto white by alpha.
        rgb = (rgba[..., :3] * alpha + 255 * (255 - alpha)) // 255
        return np.ascontiguousarray(rgb[..., ::-1].astype(np.uint8))

    def close(self) -> None:
        self._slide.close()


class ResampledReader(ImageReader):
    """One level of another reader, seen resized by ``scale``; a view that closes nothing.

    Windows are given in the resized pixels. Each is read from the level as the smallest
    region covering it and resized to the window's size (area interpolation when shrinking,
    linear when enlarging); region edges are rounded outwards to whole level pixels, so a
    window may be displaced by less than one level pixel when ``1 / scale`` is not whole.

    Args:
        reader (ImageReader): The source, closed by its owner.
        level (int): The source level read.
        scale (float): Pixels of this view per pixel of that level.

    Attributes:
        to_level0 (float): Source level-0 pixels per pixel of this view.
    """

    def __init__(self, reader: ImageReader, level: int, scale: float) -> None:
        if not scale > 0:
            raise ValueError(f'{reader.path}: resampling scale {scale} must be positive')
        source = reader.levels[level]
        self.path = reader.path
        self.source, self.level, self.scale = reader, level, scale
        self.width, self.height = scaled_size(source.width, source.height, scale)
        self.to_level0 = source.downsample * source.width / self.width
        self._source_size = (source.width, source.height)
        level_size = reader.level_pixel_size(level)
        self.pixel_size = None if level_size is None else level_size * source.width / self.width

    def _read(self, x: int, y: int, width: int, height: int, level: int) -> np.ndarray:
        source_w, source_h = self._source_size
        fx, fy = source_w / self.width, source_h / self.height
        x0, y0 = min(int(x * fx), source_w - 1), min(int(y * fy), source_h - 1)
        x1 = min(max(int(np.ceil((x + width) * fx)), x0 + 1), source_w)
        y1 = min(max(int(np.ceil((y + height) * fy)), y0 + 1), source_h)
        region = self.source.read_region(x0, y0, x1 - x0, y1 - y0, self.level)
        shrink = (x1 - x0) * (y1 - y0) > width * height
        return cv2.resize(region, (width, height),
                          interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def open_image(path: PathLike) -> ImageReader:
    """A region reader for ``path``, chosen by its content (TIFF magic) and extension.

    Args:
        path: JPEG, PNG, BMP, TIFF, or a whole-slide file (OpenSlide's extensions).

    Returns:
        ImageReader: Close it (or use it as a context manager) when done.

    Raises:
        ValueError: Naming ``path`` when it is missing, not a file, of an unknown type, empty
            or unreadable.
        ImportError: For a whole-slide file when OpenSlide is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f'{path}: no such image file')
    suffix = path.suffix.lower()
    if suffix in WSI_EXTENSIONS:
        return OpenSlideReader(path)
    with open(path, 'rb') as f:
        magic = f.read(4)
    if magic in _TIFF_MAGIC:
        return TiffReader(path)
    if suffix in TIFF_EXTENSIONS:
        raise ValueError(f'{path}: not a TIFF file (bad header {magic!r})')
    if suffix in RASTER_EXTENSIONS:
        return RasterReader(path)
    raise ValueError(f'{path}: unsupported image type {suffix!r}; expected one of '
                     f'{", ".join(IMAGE_EXTENSIONS)}')


def list_images(inputs: List[PathLike]) -> List[Path]:
    """Image files named by ``inputs``: files as given, folders expanded (sorted, top level).

    Raises:
        ValueError: For an input that does not exist, or a folder without images.
    """
    images: List[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir()
                           if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            if not found:
                raise ValueError(f'{item}: folder holds no images ({", ".join(IMAGE_EXTENSIONS)})')
            images.extend(found)
        elif item.is_file():
            images.append(item)
        else:
            raise ValueError(f'{item}: no such file or folder')
    return images
