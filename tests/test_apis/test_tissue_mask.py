"""Tissue mask: Otsu on saturation with a floor, background windows skipped, boxes on glass
dropped."""
import cv2
import numpy as np
import pytest
from blob_detector import BlobDetector

from mmdet_dghm.apis import TiledDetector, TissueMask, otsu_saturation_threshold
from mmdet_dghm.fileio import open_image

GLASS = (236, 236, 238)  # BGR, saturation about 2
TISSUE = (200, 150, 220)  # pink, saturation about 82
NUCLEUS = (120, 40, 90)  # dark purple, saturation about 170
PEN = (70, 70, 80)  # grey marker stroke: dark but unsaturated (about 32)


def slide(size: int = 2048) -> np.ndarray:
    """Glass with one tissue rectangle (300..800 x 300..700), 30 nuclei on it, a grey pen
    stroke and a dark speck on the glass."""
    rng = np.random.default_rng(0)
    image = np.full((size, size, 3), GLASS, np.uint8)
    image[300:700, 300:800] = TISSUE
    for x in (340, 400, 460, 560, 640, 720):  # 30 nuclei, none cut by a 256 px window
        for y in (340, 420, 480, 560, 640):
            cv2.circle(image, (x, y), 6, NUCLEUS, -1)
    cv2.line(image, (1200, 1500), (1900, 1600), PEN, 12)
    cv2.circle(image, (400, 730), 6, (40, 40, 40), -1)  # dust on glass, in a tissue window
    noise = rng.normal(0, 3, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def test_threshold_has_a_floor():
    glass = np.full((32, 32, 3), GLASS, np.uint8)
    glass[:, :16] = (200, 200, 212)  # glass with a faint grey smudge: Otsu splits them
    assert otsu_saturation_threshold(glass) == 25
    assert otsu_saturation_threshold(glass, min_saturation=0) < 25
    with pytest.raises(ValueError, match='uint8'):
        otsu_saturation_threshold(glass.astype(np.float32))


def test_threshold_has_a_ceiling_so_all_tissue_stays_tissue():
    tissue = np.full((64, 64, 3), (200, 170, 220), np.uint8)  # pale stroma, saturation 58
    tissue[:, 32:] = NUCLEUS  # dense nuclei, saturation 170: Otsu splits between the two
    assert otsu_saturation_threshold(tissue) == 40
    assert TissueMask.from_thumbnail(tissue, factor=1 / 16).mask.all()


def test_mask_window_fractions_and_points():
    mask = np.zeros((10, 20), bool)
    mask[2:6, 4:12] = True
    tissue = TissueMask(mask, factor=0.1)  # one mask pixel per 10 image pixels
    assert tissue.tissue_fraction == 32 / 200
    assert tissue.tissue_area_pixels(200, 100) == 3200
    fractions = tissue.window_fractions(np.array([[40, 20, 120, 60], [0, 0, 40, 20],
                                                  [0, 0, 80, 40], [45, 25, 46, 26]]))
    np.testing.assert_allclose(fractions, [1.0, 0.0, 8 / 32, 1.0])
    np.testing.assert_array_equal(tissue.contains(np.array([[45, 25], [125, 25], [199, 99]])),
                                  [True, False, False])


def test_mostly_background_slide_runs_a_fraction_of_the_windows(tmp_path):
    path = tmp_path / 'slide.png'
    cv2.imwrite(str(path), slide())
    detector = TiledDetector(BlobDetector(full_area=np.pi * 36), tile_size=256, overlap=0)
    with open_image(path) as reader:
        overview = reader.read_overview(max_size=512, chunk=700)
        tissue = TissueMask.from_thumbnail(overview.image, overview.factor)
        masked = detector.detect(reader, tissue=tissue)
        everything = detector.detect(reader)
    # Tissue 500 x 400 px of 2048 x 2048; the pen stroke and the glass are background.
    assert abs(tissue.tissue_fraction - 500 * 400 / 2048 ** 2) < 0.002
    # 8 x 8 windows of 256 px; the tissue spans columns 1-3 and rows 1-2: 6 of 64 run.
    assert (masked.num_tiles, masked.skipped_tiles) == (6, 58)
    assert (everything.num_tiles, everything.skipped_tiles) == (64, 0)
    # Without the mask the pen stroke and the dust are detected too; with it, only nuclei.
    centres = (masked.bboxes[:, :2] + masked.bboxes[:, 2:]) / 2
    assert len(masked.scores) == 30
    assert ((centres >= 300) & (centres <= (800, 700))).all()
    assert len(everything.scores) > len(masked.scores) + 1


def test_mask_for_a_view_looks_up_view_pixels():
    mask = np.zeros((10, 20), bool)
    mask[2:6, 4:12] = True
    # One mask pixel per 10 image pixels, and a view of 2 image pixels per pixel: 5 view pixels.
    view = TissueMask(mask, factor=0.1).for_view(2.0)
    assert view.factor == 0.2 and view.mask is mask and view.tissue_fraction == 32 / 200
    fractions = view.window_fractions(np.array([[20, 10, 60, 30], [0, 0, 20, 10],
                                                [0, 0, 40, 20]]))
    np.testing.assert_allclose(fractions, [1.0, 0.0, 8 / 32])
    np.testing.assert_array_equal(view.contains(np.array([[22.5, 12.5], [62.5, 12.5]])),
                                  [True, False])


def test_mask_skips_and_drops_in_a_resampled_view(tmp_path):
    """A model at 0.5 um/px on the 0.25 um/px slide: windows are cut from the half-size view,
    the mask of the level-0 overview still picks the tissue windows, and boxes come back in
    level-0 pixels."""
    path = tmp_path / 'slide.png'
    cv2.imwrite(str(path), slide())
    model = BlobDetector(full_area=np.pi * 9)
    model.pixel_size = 0.5
    detector = TiledDetector(model, tile_size=128, overlap=0, pixel_size=0.25)
    with open_image(path) as reader:
        overview = reader.read_overview(max_size=512)
        tissue = TissueMask.from_thumbnail(overview.image, overview.factor)
        masked = detector.detect(reader, tissue=tissue)
        everything = detector.detect(reader)
    assert (masked.resolution.level, masked.resolution.scale) == (0, 0.5)
    # 8 x 8 windows of 128 view pixels (256 image pixels): the same 6 of 64 hold tissue.
    assert (masked.num_tiles, masked.skipped_tiles) == (6, 58)
    assert (everything.num_tiles, everything.skipped_tiles) == (64, 0)
    centres = (masked.bboxes[:, :2] + masked.bboxes[:, 2:]) / 2
    assert len(masked.scores) == 30
    assert ((centres >= 300) & (centres <= (800, 700))).all()
    assert len(everything.scores) > len(masked.scores) + 1
