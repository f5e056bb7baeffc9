"""Reader threads: windows read ahead by several threads, each with its own TIFF reader, are
the windows one thread reads; the detections do not depend on the number of threads."""
import cv2
import numpy as np
import pytest
import tifffile
from blob_detector import BlobDetector
from test_classes import two_class_image

from mmdet_dghm.apis import BatchPrefetcher, TiledDetector, resampled_view, shares_reader
from mmdet_dghm.apis.resolution import Resolution
from mmdet_dghm.fileio import RasterReader, TiffReader, open_image


@pytest.fixture
def tiff(tmp_path):
    path = tmp_path / 'tiled.tif'
    rgb = cv2.cvtColor(two_class_image(), cv2.COLOR_BGR2RGB)
    tifffile.imwrite(path, rgb, photometric='rgb', tile=(64, 64), compression='zlib')
    return path


def test_threads_read_the_windows_one_thread_reads(tiff):
    opened = []

    def open_view():
        source = TiffReader(tiff)
        opened.append(source)
        return source, resampled_view(source, Resolution(None, None, 'unknown', 0, 0.75))

    with TiffReader(tiff) as reader:
        assert not shares_reader(reader)
        view = resampled_view(reader, Resolution(None, None, 'unknown', 0, 0.75))
        windows = np.array([[x, y, x + 96, y + 96] for y in (0, 60, 204) for x in (0, 80, 279)])
        batches = [windows[i:i + 4] for i in range(0, len(windows), 4)]
        expected = [[view.read_region(x1, y1, x2 - x1, y2 - y1) for x1, y1, x2, y2 in b]
                    for b in batches]
        got = list(BatchPrefetcher(view, batches, num_workers=3, open_view=open_view))
    assert [len(b) for b in got] == [4, 4, 1]
    for batch, want in zip(got, expected):
        for tile, tile_want in zip(batch, want):
            np.testing.assert_array_equal(tile, tile_want)
    # One reader per thread that read (at most 3), all closed at the end.
    assert 1 <= len(opened) <= 3
    assert all(r._tiff.filehandle.closed for r in opened)
    with pytest.raises(ValueError, match='needs open_view'):
        BatchPrefetcher(view, batches, num_workers=2)


def test_detections_do_not_depend_on_reader_threads(tiff, tmp_path):
    png = tmp_path / 'same.png'
    cv2.imwrite(str(png), two_class_image())
    with RasterReader(png) as raster:
        assert shares_reader(raster)
    results = []
    for path in (tiff, png):
        for workers in (1, 3):
            detector = TiledDetector(BlobDetector(full_area=np.pi * 36), tile_size=96,
                                     overlap=24, batch_size=2, num_workers=workers)
            with open_image(path) as reader:
                results.append(detector.detect(reader))
    assert (results[0].scores >= 0.5).sum() == 20
    for det in results[1:]:
        np.testing.assert_array_equal(det.bboxes, results[0].bboxes)
        np.testing.assert_array_equal(det.scores, results[0].scores)
    with pytest.raises(ValueError, match='num_workers=0 must be positive'):
        TiledDetector(BlobDetector(full_area=1.0), num_workers=0)
