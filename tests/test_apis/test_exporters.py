"""Exporters: exact JSON/CSV/GeoJSON content, the overview read from the reader,
score-coloured overlay."""
import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from mmdet_dghm.apis import Detections, draw_overlay, export_detections
from mmdet_dghm.apis.exporters import score_colors
from mmdet_dghm.fileio import Overview, open_image

CLASS = 'ring_cell_cancer'


def detections() -> Detections:
    return Detections(path=Path('/data/slide.tif'), width=200, height=100,
                      bboxes=np.array([[10, 20, 50, 60], [100.123, 4.5, 120, 30]], np.float32),
                      scores=np.array([0.9, 0.25], np.float32), num_tiles=3,
                      forward_seconds=0.0)


def blank(width: int, height: int, factor: float) -> Overview:
    """A white overview of a ``width x height`` image at ``factor``."""
    return Overview(np.full((round(height * factor), round(width * factor), 3), 255, np.uint8),
                    factor)


def test_text_exports(tmp_path):
    paths = export_detections(detections(), tmp_path, 'slide', class_name=CLASS)
    assert set(paths) == {'json', 'csv', 'geojson'}
    record = json.loads(paths['json'].read_text())
    assert record == dict(image='/data/slide.tif', width=200, height=100,
                          class_name='ring_cell_cancer', num_tiles=3, skipped_tiles=0,
                          tissue_fraction=None,
                          detections=[dict(bbox=[10.0, 20.0, 50.0, 60.0], score=0.9),
                                      dict(bbox=[100.12, 4.5, 120.0, 30.0], score=0.25)])
    with open(paths['csv'], newline='') as f:
        rows = list(csv.reader(f))
    assert rows == [['x1', 'y1', 'x2', 'y2', 'score'], ['10.0', '20.0', '50.0', '60.0', '0.9'],
                    ['100.12', '4.5', '120.0', '30.0', '0.25']]
    collection = json.loads(paths['geojson'].read_text())
    assert collection['type'] == 'FeatureCollection' and len(collection['features']) == 2
    first = collection['features'][0]
    assert first == dict(
        type='Feature',
        geometry=dict(type='Polygon',
                      coordinates=[[[10.0, 20.0], [50.0, 20.0], [50.0, 60.0], [10.0, 60.0],
                                    [10.0, 20.0]]]),
        properties=dict(objectType='detection',
                        classification=dict(name='ring_cell_cancer', color=[220, 20, 60]),
                        measurements=dict(score=0.9)))


def test_empty_detections_export(tmp_path):
    det = detections()
    det.bboxes, det.scores = np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    paths = export_detections(det, tmp_path, 'empty', overview=blank(200, 100, 0.25),
                              class_name=CLASS)
    assert json.loads(paths['geojson'].read_text()) == dict(type='FeatureCollection', features=[])
    assert (cv2.imread(str(paths['overlay']))[:25, :50] == 255).all()  # above the legend
    assert paths['csv'].read_text().splitlines() == ['x1,y1,x2,y2,score']


def test_overview_from_chunks_equals_whole_image_resize(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (100, 200, 3), dtype=np.uint8)
    path = tmp_path / 'img.png'
    cv2.imwrite(str(path), image)
    with open_image(path) as reader:
        # 40 px chunks at multiples of 4 px: each maps onto whole 4 x 4 blocks of the overview.
        overview = reader.read_overview(max_size=50, chunk=40)
    assert overview.factor == 0.25 and overview.image.shape == (25, 50, 3)
    np.testing.assert_array_equal(overview.image,
                                  cv2.resize(image, (50, 25), interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(path), image[:20, :30])
    with open_image(path) as reader:
        small = reader.read_overview(max_size=50)
        with pytest.raises(ValueError, match=r'img\.png: overview max_size=0 and chunk=2048 '
                                             'must be positive'):
            reader.read_overview(max_size=0)
    assert small.factor == 1.0 and small.image.shape == (20, 30, 3)
    np.testing.assert_array_equal(small.image, image[:20, :30])


def test_overview_from_reader_reads_the_coarsest_sufficient_level(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (100, 200, 3), dtype=np.uint8)
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    pyramid = tmp_path / 'pyramid.tif'
    with tifffile.TiffWriter(pyramid) as tif:
        tif.write(rgb, photometric='rgb', tile=(32, 32), subifds=1)
        tif.write(rgb[::2, ::2], photometric='rgb', tile=(32, 32), subfiletype=1)
    with open_image(pyramid) as reader:
        assert [lv.width for lv in reader.levels] == [200, 100]
        overview = reader.read_overview(max_size=100, chunk=64)
    # Level 1 (100 x 50) is as large as the overview: read as is, not resized from level 0.
    np.testing.assert_array_equal(overview.image, image[::2, ::2])


def test_overlay_draws_boxes_above_threshold_in_score_colour(tmp_path):
    det = detections()
    canvas = blank(200, 100, 0.5)
    overlay = draw_overlay(canvas.image, canvas.factor, det, score_thr=0.5)
    colour = score_colors(det.scores[:1])[0]
    # Box (10, 20, 50, 60) at half size: corners (5, 10) and (25, 30).
    np.testing.assert_array_equal(overlay[10, 5], colour)
    np.testing.assert_array_equal(overlay[30, 25], colour)
    np.testing.assert_array_equal(overlay[20, 15], [255, 255, 255])  # inside: not filled
    # The 0.25 box (50, 2, 60, 15 at half size) is below the threshold.
    assert (overlay[:, 45:] == 255).all()
    assert (canvas.image == 255).all()  # drawing works on a copy
    paths = export_detections(det, tmp_path, 'slide', overview=canvas, class_name=CLASS)
    np.testing.assert_array_equal(cv2.imread(str(paths['overlay']))[:50, :100], overlay)


def test_score_colours_run_from_blue_to_red():
    low, high = score_colors(np.array([0.0, 1.0]))
    assert low[0] > low[2] and high[2] > high[0]  # BGR
