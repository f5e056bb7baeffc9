"""Region readers: exact pixels across tile/strip borders, colour handling and clear errors."""
import importlib.util

import cv2
import numpy as np
import pytest
import tifffile

from mmdet_dghm.fileio import RasterReader, TiffReader, list_images, open_image


def rgb_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


# Windows crossing tile borders (tile 16), touching the right/bottom edge (partial edge tiles of
# a 50 x 37 image) and a single pixel.
WINDOWS = [(0, 0, 50, 37), (5, 3, 20, 20), (15, 15, 2, 2), (40, 30, 10, 7), (49, 36, 1, 1)]


@pytest.mark.parametrize('window', WINDOWS)
@pytest.mark.parametrize('layout', [dict(tile=(16, 16)), dict(rowsperstrip=8)],
                         ids=['tiled', 'striped'])
def test_tiff_region_equals_array_slice(tmp_path, window, layout):
    rgb = rgb_image(37, 50)
    path = tmp_path / 'img.tif'
    tifffile.imwrite(path, rgb, photometric='rgb', compression='zlib', **layout)
    x, y, w, h = window
    with open_image(path) as reader:
        assert isinstance(reader, TiffReader)
        assert (reader.width, reader.height) == (50, 37)
        region = reader.read_region(x, y, w, h)
    assert region.dtype == np.uint8 and region.shape == (h, w, 3)
    np.testing.assert_array_equal(region, rgb[y:y + h, x:x + w, ::-1])


def test_tiff_grey_uint16_and_alpha(tmp_path):
    grey = np.arange(20 * 24, dtype=np.uint16).reshape(20, 24) * 137
    tifffile.imwrite(tmp_path / 'grey.tif', grey, photometric='minisblack', tile=(16, 16))
    with open_image(tmp_path / 'grey.tif') as reader:
        region = reader.read_region(3, 2, 17, 15)
    expected = (grey[2:17, 3:20] // 257).astype(np.uint8)
    for channel in range(3):
        np.testing.assert_array_equal(region[..., channel], expected)
    rgba = np.concatenate([rgb_image(16, 16), np.zeros((16, 16, 1), np.uint8)], axis=-1)
    tifffile.imwrite(tmp_path / 'rgba.tif', rgba, photometric='rgb', extrasamples=['unassalpha'])
    with open_image(tmp_path / 'rgba.tif') as reader:
        np.testing.assert_array_equal(reader.read_region(0, 0, 16, 16), rgba[..., 2::-1])


@pytest.mark.parametrize('suffix', ['.png', '.jpeg'])
def test_raster_region_equals_opencv_decode(tmp_path, suffix):
    path = tmp_path / f'img{suffix}'
    assert cv2.imwrite(str(path), rgb_image(30, 40))
    decoded = cv2.imread(str(path), cv2.IMREAD_COLOR)
    with open_image(path) as reader:
        assert isinstance(reader, RasterReader)
        assert (reader.width, reader.height) == (40, 30)
        np.testing.assert_array_equal(reader.read_region(7, 4, 20, 26), decoded[4:30, 7:27])


def test_window_outside_image_names_file(tmp_path):
    path = tmp_path / 'img.png'
    cv2.imwrite(str(path), rgb_image(10, 10))
    with open_image(path) as reader:
        with pytest.raises(ValueError, match=r'img\.png.*leaves the image of 10 x 10'):
            reader.read_region(5, 5, 6, 5)


def test_corrupt_tiff_tile_names_file(tmp_path):
    path = tmp_path / 'corrupt.tif'
    tifffile.imwrite(path, rgb_image(32, 32), photometric='rgb', tile=(16, 16),
                     compression='zlib')
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].dataoffsets[3]
    data = bytearray(path.read_bytes())
    data[offset:offset + 8] = b'garbage!'
    path.write_bytes(bytes(data))
    with open_image(path) as reader:
        # Tile 0 is intact: only windows touching the damaged tile fail.
        assert reader.read_region(0, 0, 16, 16).shape == (16, 16, 3)
        with pytest.raises(ValueError, match=r'corrupt\.tif: cannot decode TIFF segment 3'):
            reader.read_region(10, 10, 10, 10)


@pytest.mark.parametrize('name, content, message', [
    ('fake.tif', b'not a tiff at all', r'fake\.tif: not a TIFF file'),
    ('broken.tif', b'II*\x00\xff\xff\xff\xff', r'broken\.tif: not a readable TIFF'),
    ('trunc.jpeg', cv2.imencode('.jpeg', rgb_image(64, 64))[1].tobytes()[:-500],
     r'trunc\.jpeg: truncated JPEG'),
    ('bad.png', b'\x89PNG\r\n\x1a\n' + b'\x01' * 20, r'bad\.png: not a readable image'),
    ('notes.txt', b'hello', r"notes\.txt: unsupported image type '\.txt'"),
])
def test_unreadable_files_name_the_file(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=message):
        open_image(tmp_path / name)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r'nothere\.png: no such image file'):
        open_image(tmp_path / 'nothere.png')


@pytest.mark.skipif(importlib.util.find_spec('openslide') is not None,
                    reason='OpenSlide is installed')
def test_whole_slide_without_openslide_asks_for_the_extra(tmp_path):
    (tmp_path / 'slide.svs').write_bytes(b'II*\x00')
    with pytest.raises(ImportError, match=r'slide\.svs: .*mmdet-dghm\[wsi\]'):
        open_image(tmp_path / 'slide.svs')


def test_list_images_expands_folders_sorted(tmp_path):
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for name in ('b.png', 'a.TIF', 'c.txt', 'd.jpeg'):
        (folder / name).write_bytes(b'x')
    single = tmp_path / 'single.png'
    single.write_bytes(b'x')
    assert list_images([single, folder]) == [single, folder / 'a.TIF', folder / 'b.png',
                                             folder / 'd.jpeg']
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='empty: folder holds no images'):
        list_images([tmp_path / 'empty'])
    with pytest.raises(ValueError, match='ghost: no such file or folder'):
        list_images([tmp_path / 'ghost'])
