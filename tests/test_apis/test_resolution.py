"""Pixel size: read from TIFF tags and OpenSlide, pyramid levels, the level chosen for a model,
resampled windows, and the model's pixel size from config and checkpoint."""
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
import torch
from mmengine.config import Config

from mmdet_dghm.apis import MAX_RESAMPLING, model_pixel_size, plan_resolution, resampled_view
from mmdet_dghm.apis.inference import build_detector
from mmdet_dghm.apis.resolution import to_native
from mmdet_dghm.engine import PixelSizeHook
from mmdet_dghm.fileio import ImageLevel, OpenSlideReader, ResampledReader, open_image
from mmdet_dghm.structures import check_pixel_size, choose_level

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs/digestpath/retinanet_r18-light_fpn_dghmc_digestpath.py'


def rgb_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def write_pyramid(path: Path, rgb: np.ndarray, pixel_size: float, num_levels: int = 3,
                  subifds: bool = True) -> list:
    """A tiled pyramidal TIFF (halving per level, area-resized), resolution tags in cm.

    Returns the RGB arrays of the levels, finest first.
    """
    levels = [rgb]
    for _ in range(num_levels - 1):
        h, w = levels[-1].shape[:2]
        levels.append(cv2.resize(levels[-1], (w // 2, h // 2), interpolation=cv2.INTER_AREA))
    with tifffile.TiffWriter(path) as tif:
        for index, level in enumerate(levels):
            size = pixel_size * 2**index
            options = dict(tile=(128, 128), photometric='rgb', compression='zlib',
                           resolution=(1e4 / size, 1e4 / size), resolutionunit='CENTIMETER')
            if index == 0 and subifds:
                options['subifds'] = num_levels - 1
            elif index > 0:
                options['subfiletype'] = 1
            tif.write(level, **options)
    return levels


@pytest.mark.parametrize('subifds', [True, False], ids=['subifds', 'pages'])
def test_pyramidal_tiff_pixel_size_levels_and_level_reads(tmp_path, subifds):
    path = tmp_path / 'pyramid.tif'
    levels = write_pyramid(path, rgb_image(600, 520), 0.25, subifds=subifds)
    with open_image(path) as reader:
        assert reader.pixel_size == pytest.approx(0.25)
        assert reader.levels == [ImageLevel(520, 600, 1.0), ImageLevel(260, 300, 2.0),
                                 ImageLevel(130, 150, 4.0)]
        assert [reader.level_pixel_size(i) for i in range(3)] == pytest.approx([0.25, 0.5, 1.0])
        region = reader.read_region(100, 20, 150, 270, level=1)
        np.testing.assert_array_equal(region, levels[1][20:290, 100:250, ::-1])
        np.testing.assert_array_equal(reader.read_region(129, 149, 1, 1, level=2),
                                      levels[2][149:150, 129:130, ::-1])
        with pytest.raises(ValueError, match=r'window at \(0, 0\) of 261 x 10 is empty or leaves '
                                             r'the image of level 1 of 260 x 300'):
            reader.read_region(0, 0, 261, 10, level=1)
        with pytest.raises(ValueError, match=r'pyramid\.tif: no level 3; the image has 3'):
            reader.read_region(0, 0, 1, 1, level=3)


@pytest.mark.parametrize('model, level, scale', [
    (0.25, 0, 1.0),    # equal: level 0 as is
    (0.252, 0, 1.0),   # within 1%: no resize
    (0.5, 1, 1.0),     # a level at the model's size
    (0.6, 1, 0.5 / 0.6),  # between levels: the finer one, shrunk
    (0.9, 1, 0.5 / 0.9),
    (2.0, 2, 0.5),     # coarser than every level: the coarsest, shrunk
    (0.2, 0, 1.25),    # finer than level 0: upsampled
])
def test_level_chosen_is_the_coarsest_not_coarser_than_the_model(tmp_path, model, level, scale):
    path = tmp_path / 'pyramid.tif'
    write_pyramid(path, rgb_image(600, 520), 0.25)
    with open_image(path) as reader:
        plan = plan_resolution(reader, model)
    assert (plan.level, plan.source, plan.input_pixel_size) == (level, 'file', pytest.approx(0.25))
    assert plan.scale == pytest.approx(scale)


def test_choose_level_and_pixel_size_checks():
    assert choose_level([0.25, 0.5, 1.0, 2.0], 0.99) == 1
    assert choose_level([0.25, 0.5, 1.0, 2.0], 1.005) == 2
    assert choose_level([0.5, 1.0], 0.25) == 0
    assert check_pixel_size(None, 'x') is None and check_pixel_size('0.5', 'x') == 0.5
    for bad in (0, -1, float('inf'), 'abc'):
        with pytest.raises(ValueError, match=r'^--pixel-size: pixel size'):
            check_pixel_size(bad, '--pixel-size')


@pytest.mark.parametrize('options, expected', [
    (dict(resolution=(1e4 / 0.5, 1e4 / 0.5), resolutionunit='CENTIMETER'), 0.5),
    (dict(resolution=(25400 / 0.25, 25400 / 0.25), resolutionunit='INCH'), 0.25),
    (dict(resolution=(4, 4), resolutionunit='MICROMETER'), 0.25),
    (dict(resolution=(1000, 1000), resolutionunit='NONE'), None),
    (dict(), None),
])
def test_tiff_resolution_tags(tmp_path, options, expected):
    path = tmp_path / 'tagged.tif'
    tifffile.imwrite(path, rgb_image(20, 30), photometric='rgb', **options)
    with open_image(path) as reader:
        assert reader.pixel_size == (None if expected is None else pytest.approx(expected))
        assert reader.levels == [ImageLevel(30, 20, 1.0)]


def test_non_square_tiff_pixels_are_refused(tmp_path):
    path = tmp_path / 'aniso.tif'
    tifffile.imwrite(path, rgb_image(20, 30), photometric='rgb', resolution=(40000, 20000),
                     resolutionunit='CENTIMETER')
    with pytest.raises(ValueError, match=r'aniso\.tif: unsupported TIFF \(.*pixels are not '
                                         r'square \(0\.25 x 0\.5 um\)'):
        open_image(path)


def test_jpeg_has_no_pixel_size_and_needs_one_for_a_model(tmp_path):
    path = tmp_path / 'plain.jpeg'
    assert cv2.imwrite(str(path), rgb_image(40, 50))
    with open_image(path) as reader:
        assert reader.pixel_size is None
        assert reader.levels == [ImageLevel(50, 40, 1.0)]
        with pytest.raises(ValueError, match=rf'^{path}: the image does not record its pixel '
                                             r'size and the model was trained at 0\.5 um/px; '
                                             r'pass --pixel-size'):
            plan_resolution(reader, 0.5)
        plan = plan_resolution(reader, 0.5, 0.25)
        assert (plan.source, plan.level, plan.scale) == ('given', 0, 0.5)
        assert plan.describe() == ('input 0.25 um/px (given by --pixel-size), model 0.5 um/px: '
                                   'level 0 resized x0.5')
        neither = plan_resolution(reader, None)
        assert not neither.resampled and 'assumed' in neither.describe()
        assert resampled_view(reader, neither) is reader


def test_implausible_tags_are_refused(tmp_path):
    path = tmp_path / 'dpi72.tif'
    tifffile.imwrite(path, rgb_image(20, 30), photometric='rgb', resolution=(72, 72),
                     resolutionunit='INCH')
    with open_image(path) as reader:
        assert reader.pixel_size == pytest.approx(25400 / 72)
        with pytest.raises(ValueError, match=r'needs resizing x1411; if the file\'s resolution '
                                             r'tags are wrong, pass --pixel-size'):
            plan_resolution(reader, 0.25)
    assert MAX_RESAMPLING == 16


def test_resampled_windows_equal_the_resized_image(tmp_path):
    rgb = rgb_image(64, 96)
    path = tmp_path / 'img.png'
    assert cv2.imwrite(str(path), rgb)
    halved = cv2.resize(rgb, (48, 32), interpolation=cv2.INTER_AREA)
    with open_image(path) as reader:
        view = ResampledReader(reader, 0, 0.5)
        assert (view.width, view.height, view.to_level0) == (48, 32, 2.0)
        # Area shrinking by 2 is block averaging: windows equal crops of the whole resize.
        np.testing.assert_array_equal(view.read_region(10, 6, 30, 20), halved[6:26, 10:40])
        np.testing.assert_array_equal(view.read_region(0, 0, 48, 32), halved)
        # Boxes of the view map back by its factor; a reader read as is maps them unchanged.
        boxes = np.array([[1.5, 2, 10, 20.25]], np.float32)
        np.testing.assert_array_equal(to_native(boxes, view), [[3, 4, 20, 40.5]])
        assert reader.to_level0 == 1.0
        np.testing.assert_array_equal(to_native(boxes, reader), boxes)


class FakeSlide:
    """What OpenSlideReader uses of ``openslide.OpenSlide``: a 2-level pyramid at 0.25 um/px."""

    def __init__(self, path: str) -> None:
        self.properties = {'openslide.mpp-x': '0.2497', 'openslide.mpp-y': '0.2503'}
        self.dimensions = (4000, 3000)
        self.level_dimensions = ((4000, 3000), (1000, 750))
        self.level_downsamples = (1.0, 4.0)
        self.calls = []

    def read_region(self, location, level, size):
        self.calls.append((location, level, size))
        return np.full((size[1], size[0], 4), 255, np.uint8)

    def close(self) -> None:
        pass


def test_openslide_pixel_size_levels_and_level_reads(tmp_path, monkeypatch):
    fake = types.SimpleNamespace(OpenSlide=FakeSlide, OpenSlideError=OSError)
    monkeypatch.setitem(sys.modules, 'openslide', fake)
    path = tmp_path / 'slide.svs'
    path.write_bytes(b'')
    with open_image(path) as reader:
        assert isinstance(reader, OpenSlideReader)
        assert reader.pixel_size == pytest.approx(0.25)
        assert reader.levels == [ImageLevel(4000, 3000, 1.0), ImageLevel(1000, 750, 4.0)]
        assert reader.read_region(10, 20, 30, 40, level=1).shape == (40, 30, 3)
        # OpenSlide places regions by level-0 coordinates.
        assert reader._slide.calls == [((40, 80), 1, (30, 40))]
        plan = plan_resolution(reader, 1.0)
        assert (plan.level, plan.scale) == (1, 1.0)
        plan = plan_resolution(reader, 0.5)
        assert (plan.level, plan.scale) == (0, pytest.approx(0.5))


def test_model_pixel_size_from_checkpoint_meta_first_then_config():
    cfg = Config(dict(pixel_size=0.5))
    assert model_pixel_size(cfg, dict(pixel_size=0.5)) == 0.5
    assert model_pixel_size(cfg, {}) == 0.5
    assert model_pixel_size(Config(), dict(pixel_size=0.25)) == 0.25
    assert model_pixel_size(Config(), {}) is None
    with pytest.raises(ValueError, match=r'checkpoint ckpt\.pth was trained at 0\.25 um/px but '
                                         r'config .* says pixel_size=0\.5'):
        model_pixel_size(cfg, dict(pixel_size=0.25), 'ckpt.pth')


def test_pixel_size_hook_writes_checkpoint_meta():
    hook = PixelSizeHook()
    runner = types.SimpleNamespace(cfg=Config(dict(pixel_size=0.5)))
    hook.before_run(runner)
    checkpoint = dict(meta=dict(epoch=1))
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['meta'] == dict(epoch=1, pixel_size=0.5)
    with pytest.raises(ValueError, match='PixelSizeHook needs a top-level pixel_size'):
        hook.before_run(types.SimpleNamespace(cfg=Config()))


def test_digestpath_config_pixel_size_matches_its_scale():
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.pixel_size == 0.25 and cfg.custom_hooks == [dict(type='PixelSizeHook')]
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        assert cfg.source_pixel_size / loader.dataset.scale == cfg.pixel_size


def test_build_detector_refuses_a_checkpoint_of_another_pixel_size(tmp_path):
    torch.manual_seed(0)
    model = build_detector(CONFIG, None)
    assert model.pixel_size == 0.25
    path = tmp_path / 'half.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(pixel_size=0.5)), path)
    with pytest.raises(ValueError, match=rf'checkpoint {path} was trained at 0\.5 um/px but '
                                         r'config .*dghmc_digestpath\.py says pixel_size=0\.25'):
        build_detector(CONFIG, path)
    assert build_detector(CONFIG, path, cfg_options=dict(pixel_size=0.5)).pixel_size == 0.5
