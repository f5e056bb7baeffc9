"""Reading the windows of an image ahead of the model, by one or several threads.

The model runs on batch ``i`` while the windows of batch ``i + 1`` are read, so memory holds
two batches of tiles, never the whole image. With several reader threads the windows of the
next batch are read in parallel (decoders release the GIL): on a GPU, decoding a slide's
compressed tiles is what keeps the model waiting.

Readers that decode from a shared file handle (:class:`~mmdet_dghm.fileio.TiffReader` seeks
and reads it) are not safe across threads, so with more than one thread each thread opens its
own reader of the file; in-memory rasters and OpenSlide (thread-safe by its documentation) are
shared.
"""
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..fileio import ImageReader, OpenSlideReader, RasterReader, ResampledReader

__all__ = ['BatchPrefetcher', 'shares_reader']


def shares_reader(view: ImageReader) -> bool:
    """Whether threads can read ``view`` concurrently (its source decodes from memory or
    through OpenSlide)."""
    source = view.source if isinstance(view, ResampledReader) else view
    return isinstance(source, (RasterReader, OpenSlideReader))


class BatchPrefetcher:
    """Iterate over batches of windows read from ``view``, one batch ahead of the consumer.

    Args:
        view (ImageReader): The image as the model sees it.
        batches (Sequence[np.ndarray]): Per batch, ``(B, 4)`` int xyxy windows of ``view``.
        num_workers (int): Reader threads. Defaults to 1 (one thread, ``view`` itself).
        open_view (callable, optional): Opens the file again and returns ``(source, view)``:
            the reader to close and the same view of it, for threads that cannot share
            ``view`` (see :func:`shares_reader`); required then.

    Yields:
        List[np.ndarray]: The ``(h, w, 3)`` BGR uint8 tiles of each batch, in order.
    """

    def __init__(self, view: ImageReader, batches: Sequence[np.ndarray], num_workers: int = 1,
                 open_view: Optional[Callable[[], Tuple[ImageReader, ImageReader]]] = None
                 ) -> None:
        if num_workers < 1:
            raise ValueError(f'num_workers={num_workers} must be positive')
        self.view = view
        self.batches = batches
        self.num_workers = num_workers
        self.shared = num_workers == 1 or shares_reader(view)
        if not self.shared and open_view is None:
            raise ValueError(f'{view.path}: reading with {num_workers} threads needs open_view '
                             '(this reader cannot be shared between threads)')
        self._open_view = open_view
        self._local = threading.local()
        self._opened: List[ImageReader] = []
        self._lock = threading.Lock()

    def _reader(self) -> ImageReader:
        if self.shared:
            return self.view
        view = getattr(self._local, 'view', None)
        if view is None:
            source, view = self._open_view()
            self._local.view = view
            with self._lock:
                self._opened.append(source)
        return view

    def _read(self, window: Sequence[int]) -> np.ndarray:
        x1, y1, x2, y2 = window
        return self._reader().read_region(x1, y1, x2 - x1, y2 - y1)

    def _submit(self, pool: ThreadPoolExecutor, batch: np.ndarray) -> List[Future]:
        return [pool.submit(self._read, window) for window in batch.tolist()]

    def __iter__(self) -> Iterator[List[np.ndarray]]:
        if not len(self.batches):
            return
        pool = ThreadPoolExecutor(max_workers=self.num_workers)
        try:
            pending = self._submit(pool, self.batches[0])
            for index in range(len(self.batches)):
                tiles = [future.result() for future in pending]
                if index + 1 < len(self.batches):
                    pending = self._submit(pool, self.batches[index + 1])
                yield tiles
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for reader in self._opened:
                reader.close()
            self._opened.clear()
