"""Contracts of the generator's single steps: placing, painting and writing."""
import cv2
import numpy as np
import pytest

from mmdet_dghm.testing import (
    CellGeometry,
    StainStyle,
    pack_discs,
    round_boxes,
    sample_stain,
    slide_style,
    tile_name,
    voc_xml,
)
from mmdet_dghm.testing.synthetic.placing import (
    footprint,
    place_lookalikes,
    place_lymphocytes,
    place_src,
    tissue_maps,
)
from mmdet_dghm.testing.synthetic.stain import od_to_rgb
from mmdet_dghm.testing.synthetic.writing import write_jpeg


def pairwise_gap(discs: np.ndarray, touch: float) -> np.ndarray:
    """``dist - touch * (r_i + r_j)`` of every pair i < j."""
    i, j = np.triu_indices(len(discs), 1)
    d = np.hypot(discs[i, 0] - discs[j, 0], discs[i, 1] - discs[j, 1])
    return d - touch * (discs[i, 2] + discs[j, 2])


def test_pack_discs_places_largest_first_and_avoids_occupied():
    xs, ys = np.array([0.0, 1.0, 10.0]), np.zeros(3)
    # The larger disc takes the first candidate; the smaller one is too close to it at
    # candidate 1 (1 < 2 + 1) and goes to candidate 2.
    assert pack_discs(xs, ys, np.array([1.0, 2.0]), touch=1.0).tolist() == [2, 0]
    # A disc already at candidate 2 leaves the smaller one no room.
    occupied = np.array([[10.0, 0.0, 1.0]])
    assert pack_discs(xs, ys, np.array([1.0, 2.0]), touch=1.0,
                      occupied=occupied).tolist() == [-1, 0]


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_tissue_maps_leave_5_to_25_percent_background(seed):
    tissue, cellular = tissue_maps(np.random.default_rng(seed), (192, 256), 28.0)
    assert tissue.shape == cellular.shape == (192, 256)
    assert 0 <= tissue.min() and tissue.max() <= 1 and np.all(cellular <= tissue)
    # The background level is a 5-25 percent quantile of the field (on a 4x stride).
    assert 0.03 <= (tissue < 0.5).mean() <= 0.27


def test_placed_src_are_inside_the_image_and_do_not_overlap():
    rng = np.random.default_rng(3)
    tissue, cellular = tissue_maps(rng, (240, 320), 28.0)
    src = place_src(rng, 28.0, 0.27, cellular, tissue, (0.15, 0.2), (0.5, 0.8))
    assert len(src) >= 10
    assert np.all((src.cx >= 0) & (src.cx < 320) & (src.cy >= 0) & (src.cy < 240))
    assert pairwise_gap(src.discs(), 0.85).min() >= -1e-9


def test_lookalikes_and_lymphocytes_keep_clear_of_occupied_discs():
    rng = np.random.default_rng(4)
    tissue = np.ones((160, 160))
    occupied = np.array([[40.0, 40.0, 20.0], [120.0, 100.0, 15.0]])
    cells = place_lookalikes(rng, tissue, np.full(30, 14.0), occupied)
    assert len(cells) > 0
    d = np.hypot(cells.cx[:, None] - occupied[:, 0], cells.cy[:, None] - occupied[:, 1])
    assert np.all(d >= 0.85 * (occupied[:, 2] + np.maximum(cells.a, cells.b)[:, None]))
    lym = place_lymphocytes(rng, tissue, 28.0, 1.0, occupied)
    assert len(lym) > 0
    d = np.hypot(lym.cx[:, None] - occupied[:, 0], lym.cy[:, None] - occupied[:, 1])
    assert np.all(d >= occupied[:, 2] + 2 * lym.a[:, None])


def test_footprint_is_the_grown_ellipse():
    geo = CellGeometry(np.array([20.0]), np.array([20.0]), np.array([5.0]), np.array([3.0]),
                       np.array([0.0]))
    mask = footprint((40, 40), geo, np.array([2.0]))
    assert mask.dtype == np.float32 and set(np.unique(mask)) == {0.0, 1.0}
    # Semi-axes 7 (x) and 5 (y) after growing by 2 px.
    assert mask[20, 26] == 1 and mask[20, 28] == 0
    assert mask[24, 20] == 1 and mask[26, 20] == 0
    # cv2 fills the outline's pixels as well: up to half a pixel beyond the ellipse.
    assert np.pi * 7 * 5 <= mask.sum() <= np.pi * 7.5 * 5.5


def test_od_to_rgb_follows_beer_lambert():
    stain = StainStyle(np.array([0.6, 0.7, 0.4]), np.array([0.1, 0.9, 0.2]), 1.2, 1.0,
                       np.array([240.0, 230.0, 235.0]))
    od = np.zeros((64, 64, 3), np.float32)
    blank = od_to_rgb(np.random.default_rng(0), od, stain, 28.0)
    # No stain: the white level, less 0.5 on average from truncation to uint8.
    np.testing.assert_allclose(blank.reshape(-1, 3).mean(0), stain.white - 0.5, atol=0.3)
    od[..., 0] = 1.0
    stained = od_to_rgb(np.random.default_rng(0), od, stain, 28.0)
    expected = stain.white * np.exp(-stain.h_gain * stain.h_vec) - 0.5
    np.testing.assert_allclose(stained.reshape(-1, 3).mean(0), expected, atol=0.3)


def test_slide_style_is_shared_by_a_slides_images():
    stain, origin = slide_style(5, True, 2)
    again, origin_again = slide_style(5, True, 2)
    other, _ = slide_style(5, False, 2)
    assert np.array_equal(stain.h_vec, again.h_vec) and np.array_equal(origin, origin_again)
    assert not np.array_equal(stain.h_vec, other.h_vec)
    assert np.all(origin % 1000 == 0) and np.all((origin >= 5000) & (origin < 60000))
    assert isinstance(sample_stain(np.random.default_rng(0)), StainStyle)


def test_tile_name_places_images_in_a_row_on_their_slide():
    # Image 5, two per slide: slide 2, second in its row (x + w0 + 500, one row lower).
    name = tile_name(True, 5, (160, 192), 0.5, 2, (5000, 7000))
    assert name == 'synth-pos-02-lv0-5884-7820-384-320'
    assert tile_name(False, 4, (160, 192), 0.5, 2, (5000, 7000)) == \
        'synth-neg-02-lv0-5000-7000-384-320'


def test_round_boxes_and_truncated_flag():
    boxes = round_boxes(np.array([[0.4, 3.6, 10.2, 9.0], [10.2, 3.4, 10.4, 9.0],
                                  [20.0, 30.0, 64.0, 40.0]]))
    # The middle box rounds to zero width and is dropped.
    assert boxes.tolist() == [[0, 4, 10, 9], [20, 30, 64, 40]]
    root = voc_xml('a.jpeg', 64, 48, boxes).getroot()
    assert [o.find('truncated').text for o in root.iter('object')] == ['1', '1']
    inner = voc_xml('a.jpeg', 64, 48, np.array([[5, 5, 20, 20]])).getroot()
    assert inner.find('object/truncated').text == '0'
    assert inner.find('size/width').text == '64' and inner.find('size/height').text == '48'


def test_write_jpeg_stores_rgb_as_bgr_file(tmp_path):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[...] = (200, 50, 10)
    write_jpeg(tmp_path / 'x.jpeg', rgb, 95)
    bgr = cv2.imread(str(tmp_path / 'x.jpeg'))
    np.testing.assert_allclose(bgr.reshape(-1, 3).mean(0), (10, 50, 200), atol=3)
