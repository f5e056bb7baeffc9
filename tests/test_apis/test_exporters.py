"""Exporters: exact JSON/CSV/GeoJSON content, tile-by-tile overview, score-coloured overlay."""
import csv
import json
from pathlib import Path

import cv2
import numpy as np
import tifffile

from mmdet_dghm.apis import Detections, OverviewCanvas, draw_overlay, export_detections
from mmdet_dghm.apis.exporters import score_colors
from mmdet_dghm.fileio import open_image
from mmdet_dghm.structures import sliding_windows


def detections() -> Detections:
    return Detections(path=Path('/data/slide.tif'), width=200, height=100,
                      bboxes=np.array([[10, 20, 50, 60], [100.123, 4.5, 120, 30]], np.float32),
                      scores=np.array([0.9, 0.25], np.float32), num_tiles=3,
                      forward_seconds=0.0)


def test_text_exports(tmp_path):
    paths = export_detections(detections(), tmp_path, 'slide')
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
    paths = export_detections(det, tmp_path, 'empty', overview=OverviewCanvas(200, 100, 50))
    assert json.loads(paths['geojson'].read_text()) == dict(type='FeatureCollection', features=[])
    assert (cv2.imread(str(paths['overlay']))[:25, :50] == 255).all()  # above the legend
    assert paths['csv'].read_text().splitlines() == ['x1,y1,x2,y2,score']


def test_overview_from_tiles_equals_whole_image_resize():
    image = np.random.default_rng(0).integers(0, 256, (100, 200, 3), dtype=np.uint8)
    canvas = OverviewCanvas(200, 100, max_size=50)
    assert canvas.factor == 0.25 and canvas.image.shape == (25, 50, 3)
    # 40 px windows at multiples of 4 px: each maps onto whole 4 x 4 blocks of the overview.
    for x1, y1, x2, y2 in sliding_windows(200, 100, 40, 40).tolist():
        canvas.paste(image[y1:y2, x1:x2], x1, y1)
    np.testing.assert_array_equal(canvas.image,
                                  cv2.resize(image, (50, 25), interpolation=cv2.INTER_AREA))
    small = OverviewCanvas(30, 20, max_size=50)
    assert small.factor == 1.0 and small.image.shape == (20, 30, 3)


def test_overview_from_reader_reads_the_coarsest_sufficient_level(tmp_path):
    image = np.random.default_rng(0).integers(0, 256, (100, 200, 3), dtype=np.uint8)
    path = tmp_path / 'img.png'
    cv2.imwrite(str(path), image)
    with open_image(path) as reader:
        canvas = OverviewCanvas.from_reader(reader, max_size=50, chunk=40)
    np.testing.assert_array_equal(canvas.image,
                                  cv2.resize(image, (50, 25), interpolation=cv2.INTER_AREA))
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    pyramid = tmp_path / 'pyramid.tif'
    with tifffile.TiffWriter(pyramid) as tif:
        tif.write(rgb, photometric='rgb', tile=(32, 32), subifds=1)
        tif.write(rgb[::2, ::2], photometric='rgb', tile=(32, 32), subfiletype=1)
    with open_image(pyramid) as reader:
        assert [lv.width for lv in reader.levels] == [200, 100]
        canvas = OverviewCanvas.from_reader(reader, max_size=100, chunk=64)
    # Level 1 (100 x 50) is as large as the overview: read as is, not resized from level 0.
    np.testing.assert_array_equal(canvas.image, image[::2, ::2])


def test_overlay_draws_boxes_above_threshold_in_score_colour(tmp_path):
    det = detections()
    canvas = OverviewCanvas(200, 100, max_size=100)  # factor 0.5
    overlay = draw_overlay(canvas.image, canvas.factor, det, score_thr=0.5)
    colour = score_colors(det.scores[:1])[0]
    # Box (10, 20, 50, 60) at half size: corners (5, 10) and (25, 30).
    np.testing.assert_array_equal(overlay[10, 5], colour)
    np.testing.assert_array_equal(overlay[30, 25], colour)
    np.testing.assert_array_equal(overlay[20, 15], [255, 255, 255])  # inside: not filled
    # The 0.25 box (50, 2, 60, 15 at half size) is below the threshold.
    assert (overlay[:, 45:] == 255).all()
    assert (canvas.image == 255).all()  # drawing works on a copy
    paths = export_detections(det, tmp_path, 'slide', overview=canvas)
    np.testing.assert_array_equal(cv2.imread(str(paths['overlay']))[:50, :100], overlay)


def test_score_colours_run_from_blue_to_red():
    low, high = score_colors(np.array([0.0, 1.0]))
    assert low[0] > low[2] and high[2] > high[0]  # BGR
