"""Load the pixels of one DigestPath tile."""
import hashlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from ...fileio import ResampledReader, TiffReader, read_scaled_image


@TRANSFORMS.register_module()
class LoadDigestPathTile(BaseTransform):
    """Read a tile (``tile_origin``, ``width``, ``height``) of its source image.

    TIFF sources are read by region: only the TIFF tiles (or strips) under the dataset tile are
    decoded (``mmdet_dghm.fileio.TiffReader``). JPEG cannot be decoded by region, so the
    whole (scaled) source image is decoded and the tile sliced out of it. Decoded images are
    kept in a small LRU cache owned by this transform; each DataLoader worker process holds its
    own copy of the pipeline, so the cache is per worker. When tiles are visited image by
    image (test mode: the dataset lists tiles grouped by source image and
    ``DefaultSampler(shuffle=False)`` keeps that order), each source image is decoded at most
    once per worker.

    Shuffled training visits tiles of random images, where that cache rarely hits and each
    tile would cost a whole decode (about 50 ms for a 2000 px 40x JPEG). With ``decoded_dir``
    every source image is decoded once, ever, into an uncompressed ``.npy`` there (written
    atomically, shared by all workers and runs; the name hashes path, size, mtime and scale so
    an edited image is decoded again), and tiles are then read as memory-mapped regions: only
    the tile's bytes are touched. It costs ``H * W * 3`` bytes of disk per source image.

    Required keys: ``img_path``; ``tile_origin``, ``width``, ``height`` and ``scale`` (1.0 when
    absent) of a dataset tile. Without ``tile_origin`` the whole image is loaded, so mmdet's
    ``inference_detector(model, 'image.jpeg')`` works with a plugin config (for images larger
    than a few thousand pixels prefer ``tools/infer.py``, which tiles).
    Added keys: ``img`` (BGR uint8), ``img_shape``, ``ori_shape``, ``scale_factor``
    (``(1.0, 1.0)``: the tile is already in the dataset's scaled coordinates, so predictions
    need no rescaling; mmdet's post-processing requires the key).

    Args:
        cache_size (int): Source images (decoded or memory-mapped) kept per worker.
            Defaults to 4.
        decoded_dir (str, optional): Folder of decoded ``.npy`` copies; None decodes in memory
            only. Defaults to None.
    """

    def __init__(self, cache_size: int = 4, decoded_dir: Optional[str] = None) -> None:
        if cache_size < 1:
            raise ValueError(f'cache_size={cache_size} must be >= 1')
        self.cache_size = cache_size
        self.decoded_dir = decoded_dir
        self.num_decodes = 0
        self._cache: 'OrderedDict[tuple, np.ndarray]' = OrderedDict()

    def _decode(self, path: str, scale: float) -> np.ndarray:
        self.num_decodes += 1
        return read_scaled_image(Path(path), scale)

    def _memory_mapped(self, path: str, scale: float) -> np.ndarray:
        stat = os.stat(path)
        key = f'{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}|{scale}'
        target = Path(self.decoded_dir) / f'{hashlib.sha1(key.encode()).hexdigest()}.npy'
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f'{target.stem}.{os.getpid()}.partial.npy')
            np.save(partial, self._decode(path, scale))
            # Atomic: concurrent workers decoding the same image never see a half file.
            os.replace(partial, target)
        return np.load(target, mmap_mode='r')

    def _source(self, path: str, scale: float):
        """The decoded (or memory-mapped) scaled image, or a region reader for a TIFF."""
        key = (path, scale)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if Path(path).suffix.lower() in ('.tif', '.tiff'):
            image = TiffReader(path)
        elif self.decoded_dir is None:
            image = self._decode(path, scale)
        else:
            image = self._memory_mapped(path, scale)
        self._cache[key] = image
        if len(self._cache) > self.cache_size:
            _, evicted = self._cache.popitem(last=False)
            if hasattr(evicted, 'close'):
                evicted.close()
        return image

    @staticmethod
    def _array_tile(image: np.ndarray, region: Optional[tuple], path: str) -> np.ndarray:
        """``region`` (x, y, width, height) of a decoded image, the whole image for None."""
        if region is None:
            return image
        x, y, width, height = region
        tile = image[y:y + height, x:x + width]
        if tile.shape[:2] != (height, width):
            raise ValueError(
                f'{path}: tile at {(x, y)} of {width} x {height} leaves the decoded image of '
                f'{image.shape[1]} x {image.shape[0]} (file changed since the dataset was '
                'built?)')
        return tile

    def transform(self, results: dict) -> dict:
        scale = results.get('scale', 1.0)
        source = self._source(results['img_path'], scale)
        # Without ``tile_origin`` a whole image: what mmdet's inference_detector asks for.
        region = ((*results['tile_origin'], results['width'], results['height'])
                  if 'tile_origin' in results else None)
        if isinstance(source, np.ndarray):
            tile = self._array_tile(source, region, results['img_path'])
        else:
            if scale != 1.0:
                # A region reader in the dataset's scaled pixels (scaled_size, as its
                # coordinates).
                source = ResampledReader(source, 0, scale)
            # The reader refuses a region outside its image itself, naming the file.
            tile = source.read_region(*(region or (0, 0, source.width, source.height)))
        height, width = tile.shape[:2]
        # A copy: later in-place transforms must not write into the cached source image, and
        # for a memory map this is the read of just the tile's bytes.
        results['img'] = np.array(tile)
        results['img_shape'] = (height, width)
        results['ori_shape'] = (height, width)
        results['scale_factor'] = (1.0, 1.0)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(cache_size={self.cache_size}, '
                f'decoded_dir={self.decoded_dir!r})')
