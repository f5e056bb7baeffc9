"""Tests of the synthetic DigestPath2019-like generator."""
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmdet_dghm.datasets.digestpath_layout import NEG_DIR, POS_DIR
from mmdet_dghm.testing import (
    CLASS_NAME,
    generate_synthetic_digestpath,
    render_image,
    sample_ellipses,
    sample_stain,
)

SMALL = dict(num_pos=3, num_neg=2, image_size=(160, 192), images_per_slide=2)


def read_voc(path: Path) -> tuple:
    root = ET.parse(path).getroot()
    size = root.find('size')
    wh = int(size.find('width').text), int(size.find('height').text)
    boxes = []
    for obj in root.iter('object'):
        assert obj.find('name').text == CLASS_NAME
        bnd = obj.find('bndbox')
        boxes.append([int(bnd.find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax')])
    return wh, np.array(boxes, dtype=np.int64).reshape(-1, 4)


def all_bytes(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob('*')) if p.is_file()}


@pytest.fixture(scope='module')
def small_set(tmp_path_factory) -> tuple:
    out = tmp_path_factory.mktemp('synth')
    return out, generate_synthetic_digestpath(out, seed=3, **SMALL)


def test_layout_and_names(small_set):
    out, summary = small_set
    pos = sorted((out / POS_DIR).iterdir())
    neg = sorted((out / NEG_DIR).iterdir())
    assert [p.suffix for p in pos] == ['.jpeg', '.xml'] * 3
    assert [p.suffix for p in neg] == ['.jpeg'] * 2
    assert sorted(summary.pos_images) == [p for p in pos if p.suffix == '.jpeg']
    assert sorted(summary.neg_images) == neg
    slides = [p.name.split('-lv0-')[0] for p in pos[::2] + neg]
    assert slides == ['synth-pos-00', 'synth-pos-00', 'synth-pos-01',
                      'synth-neg-00', 'synth-neg-00']
    # x, y, w, h are level-0 (40x) coordinates: twice the pixel size at scale 0.5.
    x, y, w, h = map(int, pos[0].stem.split('-lv0-')[1].split('-'))
    assert (w, h) == (384, 320)


def test_xml_agrees_with_images(small_set):
    out, summary = small_set
    counts = []
    for jpeg in summary.pos_images:
        (w, h), boxes = read_voc(jpeg.with_suffix('.xml'))
        img = cv2.imread(str(jpeg))
        assert img.shape == (h, w, 3) == (160, 192, 3)
        assert len(boxes) > 0
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2] <= w) and np.all(boxes[:, 3] <= h)
        assert np.all(boxes[:, 2:] > boxes[:, :2])
        counts.append(len(boxes))
    assert sum(counts) == summary.num_boxes
    for jpeg in summary.neg_images:
        assert not jpeg.with_suffix('.xml').exists()
        assert cv2.imread(str(jpeg)).shape == (160, 192, 3)


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = generate_synthetic_digestpath(tmp_path / 'a', seed=7, **SMALL)
    generate_synthetic_digestpath(tmp_path / 'b', seed=7, **SMALL)
    generate_synthetic_digestpath(tmp_path / 'c', seed=8, **SMALL)
    files_a, files_b = all_bytes(tmp_path / 'a'), all_bytes(tmp_path / 'b')
    files_c = all_bytes(tmp_path / 'c')
    assert len(files_a) == 8 and files_a == files_b
    shared = set(files_a) & set(files_c)
    assert all(files_a[k] != files_c[k] for k in shared)
    assert not np.array_equal(cv2.imread(str(a.pos_images[0])),
                              cv2.imread(str(sorted((tmp_path / 'c' / POS_DIR).glob('*.jpeg'))[0])))


def test_positives_do_not_depend_on_num_neg(tmp_path):
    generate_synthetic_digestpath(tmp_path / 'a', seed=1, num_pos=2, num_neg=1, image_size=96)
    generate_synthetic_digestpath(tmp_path / 'b', seed=1, num_pos=2, num_neg=3, image_size=96)
    pos_a = all_bytes(tmp_path / 'a' / POS_DIR)
    assert len(pos_a) == 4 and pos_a == all_bytes(tmp_path / 'b' / POS_DIR)


@pytest.mark.parametrize('scale, size, median', [(1.0, 448, 56.0), (0.5, 224, 28.0)])
def test_box_size_statistics(tmp_path, scale, size, median):
    summary = generate_synthetic_digestpath(tmp_path, num_pos=12, num_neg=0, image_size=size,
                                            scale=scale, seed=0, src_coverage=(0.15, 0.25))
    side = np.sqrt(summary.box_wh.prod(1))
    assert summary.num_boxes >= 150
    p5, p50, p95 = np.percentile(side, [5, 50, 95])
    # Real DigestPath2019 at 40x: median 56 px, 5-95 percent 37-92 px (half at scale 0.5).
    assert abs(p50 - median) <= 0.08 * median
    assert 0.55 * median <= p5 <= 0.75 * median
    assert 1.35 * median <= p95 <= 1.75 * median


def test_boxes_are_tight_around_rotated_ellipses():
    rng = np.random.default_rng(0)
    sizes = np.array([20.0, 40.0, 56.0])
    geo = sample_ellipses(rng, np.zeros(3), np.zeros(3), sizes)
    boxes = geo.boxes()
    np.testing.assert_allclose(np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])),
                               sizes)
    # Sample the ellipse outlines: the extreme points touch the box on all four sides.
    t = np.linspace(0, 2 * np.pi, 20001)
    for i in range(3):
        ang = np.deg2rad(geo.angle[i])
        x = geo.a[i] * np.cos(t) * np.cos(ang) - geo.b[i] * np.sin(t) * np.sin(ang)
        y = geo.a[i] * np.cos(t) * np.sin(ang) + geo.b[i] * np.sin(t) * np.cos(ang)
        np.testing.assert_allclose([x.min(), y.min(), x.max(), y.max()], boxes[i], atol=1e-3)


def test_src_pixels_show_pale_vacuole_and_dark_nucleus():
    rng = np.random.default_rng(5)
    rgb, boxes = render_image(rng, (400, 400), sample_stain(rng), positive=True,
                              box_median=40.0)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    inside = (boxes[:, 2] - boxes[:, 0] > 30) & (boxes[:, 0] > 0) & (boxes[:, 1] > 0) \
        & (boxes[:, 2] < 400) & (boxes[:, 3] < 400)
    assert inside.sum() >= 5
    for x0, y0, x1, y1 in np.round(boxes[inside]).astype(int):
        patch = gray[y0:y1, x0:x1]
        # Mucin is near white and the crescent nucleus is dark within the same box.
        assert np.percentile(patch, 90) > 200
        assert patch.min() < 130


def test_negatives_have_lookalikes_not_empty_tissue():
    rng = np.random.default_rng(2)
    rgb, boxes = render_image(rng, (320, 320), sample_stain(rng), positive=False,
                              box_median=28.0)
    assert boxes.shape == (0, 4)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    # Dark nuclei (lymphocytes, normal cells) and near-white holes (lumen, vacuoles).
    assert (gray < 110).mean() > 0.01
    assert (gray > 215).mean() > 0.02


def test_mimics_are_unannotated_and_change_the_image():
    def render(mimic_coverage):
        rng = np.random.default_rng(5)
        return render_image(rng, (400, 400), sample_stain(rng), positive=True,
                            box_median=40.0, mimic_coverage=mimic_coverage)

    plain_rgb, plain_boxes = render(None)
    rgb, boxes = render((0.08, 0.08))
    # SRCs are placed before the mimics: the same cells, the same boxes, no box for a mimic.
    np.testing.assert_array_equal(boxes, plain_boxes)
    assert not np.array_equal(rgb, plain_rgb)


def test_mimic_crescent_scales_the_nucleus_density():
    from mmdet_dghm.testing.synthetic.geometry import CellGeometry
    from mmdet_dghm.testing.synthetic.painting import paint_src
    from mmdet_dghm.testing.synthetic.rendering import MIMIC_NUCLEUS_SCALE
    geo = CellGeometry(np.array([30.0]), np.array([30.0]), np.array([15.0]),
                       np.array([12.0]), np.array([20.0]))
    painted = {}
    for scale in (1.0, MIMIC_NUCLEUS_SCALE):
        od = np.zeros((60, 60, 3), np.float32)
        paint_src(od, np.random.default_rng(0), geo, nucleus_scale=scale)
        painted[scale] = od
    src, mimic = painted[1.0], painted[MIMIC_NUCLEUS_SCALE]
    assert MIMIC_NUCLEUS_SCALE == 0.8
    nucleus = src[..., 0] > 1.0  # only the nucleus has a haematoxylin density above 1
    assert nucleus.sum() > 20
    np.testing.assert_allclose(mimic[nucleus], src[nucleus] * 0.8, rtol=1e-5)
    # Mucin and rim are painted as for an SRC.
    np.testing.assert_array_equal(mimic[~nucleus], src[~nucleus])


def test_render_speed_1000px():
    rng = np.random.default_rng(0)
    stain = sample_stain(rng)
    t = time.process_time()
    render_image(rng, (1000, 1000), stain, positive=True, box_median=28.0)
    assert time.process_time() - t < 2.5


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_pos=0, num_neg=0), 'not both 0'),
    (dict(image_size=(16, 100)), 'image_size'),
    (dict(scale=0.0), 'scale'),
    (dict(src_coverage=(0.3, 0.1)), 'src_coverage'),
    (dict(images_per_slide=0), 'images_per_slide'),
    (dict(mimic_coverage=(0.2, 0.1)), 'mimic_coverage'),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate_synthetic_digestpath(tmp_path, **{**SMALL, **kwargs})


def test_refuses_non_empty_folder_without_overwrite(tmp_path):
    generate_synthetic_digestpath(tmp_path, num_pos=1, num_neg=1, image_size=64)
    with pytest.raises(FileExistsError, match=POS_DIR):
        generate_synthetic_digestpath(tmp_path, num_pos=1, num_neg=1, image_size=64)
    summary = generate_synthetic_digestpath(tmp_path, num_pos=1, num_neg=0, image_size=64,
                                            seed=1, overwrite=True)
    assert len(list((tmp_path / NEG_DIR).iterdir())) == 0
    assert len(list((tmp_path / POS_DIR).glob('*.jpeg'))) == len(summary.pos_images) == 1


def test_cli(tmp_path, repo_root):
    out = tmp_path / 'cli'
    proc = subprocess.run(
        [sys.executable, str(repo_root / 'tools' / 'make_synthetic.py'), str(out),
         '--num-pos', '2', '--num-neg', '1', '--image-size', '96', '128', '--seed', '4'],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'wrote 2 positive and 1 negative images' in proc.stdout
    assert len(list((out / POS_DIR).glob('*.xml'))) == 2
    (w, h), _ = read_voc(next((out / POS_DIR).glob('*.xml')))
    assert (w, h) == (128, 96)
    assert len(list((out / NEG_DIR).glob('*.jpeg'))) == 1
