"""Several classes end to end: labels through tiling and merging, a subset kept by name, every
export carrying the class, per-class counts in the cohort summary; and a slide whose model
raises a RuntimeError recorded while the others finish."""
import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from blob_detector import BlobDetector, TwoClassBlobDetector
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from test_tissue_mask import GLASS, NUCLEUS, TISSUE
from torch import nn

from mmdet_dghm.apis import (
    Detections,
    TiledDetector,
    draw_overlay_with_legend,
    export_detections,
    run_cohort,
)
from mmdet_dghm.fileio import Overview

GREEN = (40, 110, 30)  # a dark green nucleus (BGR): class 1 of TwoClassBlobDetector
CLASSES = ('tumour', 'lymphocyte')


def two_class_image(seed: int = 0) -> np.ndarray:
    """Tissue with 12 purple and 8 green nuclei on a 4 x 5 grid, some across window seams."""
    image = np.full((400, 500, 3), GLASS, np.uint8)
    image[20:380, 20:480] = TISSUE
    centres = [(x, y) for y in (60, 140, 250, 330) for x in (60, 128, 250, 370, 430)]
    order = np.random.default_rng(seed).permutation(20)
    for rank, index in enumerate(order):
        cv2.circle(image, centres[index], 6, GREEN if rank < 8 else NUCLEUS, -1)
    return image


def tiled(model: nn.Module, **kwargs) -> TiledDetector:
    return TiledDetector(model, tile_size=128, overlap=32, pixel_size=0.5, **kwargs)


def test_labels_survive_tiling_and_a_subset_is_kept_by_name(tmp_path):
    path = tmp_path / 'two.png'
    cv2.imwrite(str(path), two_class_image())
    model = TwoClassBlobDetector(full_area=np.pi * 36)
    full = tiled(model).detect(path)
    assert tiled(model).class_names == CLASSES
    strong = full.scores >= 0.5
    assert np.bincount(full.labels[strong]).tolist() == [12, 8]
    assert full.labels.dtype == np.int64 and len(full.labels) == len(full.scores)
    assert (np.diff(full.scores) <= 0).all()  # classes merged back by descending score
    kept = tiled(model, classes=['lymphocyte'])
    assert kept.class_names == ('lymphocyte', )
    only = kept.detect(path)
    assert (only.labels == 0).all() and (only.scores >= 0.5).sum() == 8
    # Classes merge independently: the subset is exactly the full run's lymphocytes.
    np.testing.assert_array_equal(only.bboxes, full.bboxes[full.labels == 1])
    np.testing.assert_array_equal(only.scores, full.scores[full.labels == 1])
    assert tiled(model, classes=['lymphocyte'], class_name='TIL').class_names == ('TIL', )
    with pytest.raises(ValueError, match=r"unknown class 'stroma' \(--classes\): the model "
                                         r"has 'tumour', 'lymphocyte'"):
        tiled(model, classes=['stroma', 'tumour']).class_names
    with pytest.raises(ValueError, match=r"'TIL' renames one class, but the model detects 2 "
                                         r"\('tumour', 'lymphocyte'\); keep one with classes"):
        tiled(model, class_name='TIL').class_names
    with pytest.raises(ValueError, match='classes is empty'):
        tiled(model, classes=[])


class FixedBoxes(nn.Module):
    """Per tile the same boxes: two classes on one spot, and a duplicate within a class."""

    dataset_meta = dict(classes=CLASSES)

    def test_step(self, data: dict) -> list:
        boxes = torch.tensor([[10., 10., 30., 30.], [10., 10., 30., 30.], [11., 11., 30., 30.]])
        instances = InstanceData(bboxes=boxes, scores=torch.tensor([0.9, 0.8, 0.7]),
                                 labels=torch.tensor([0, 1, 1]))
        return [DetDataSample(pred_instances=instances) for _ in data['inputs']]


def test_windows_merge_within_a_class_only(tmp_path):
    path = tmp_path / 'blank.png'
    cv2.imwrite(str(path), np.full((64, 64, 3), 128, np.uint8))
    det = TiledDetector(FixedBoxes(), tile_size=64, overlap=0).detect(path)
    # One box per class on the spot: the class-1 duplicate is suppressed, the class-0 box
    # does not suppress the class-1 one (as mmdet's batched NMS).
    assert det.labels.tolist() == [0, 1]
    np.testing.assert_allclose(det.scores, [0.9, 0.8])


def detections() -> Detections:
    return Detections(path=Path('/data/slide.tif'), width=200, height=100,
                      bboxes=np.array([[10, 20, 50, 60], [100, 4, 120, 30], [150, 50, 170, 70]],
                                      np.float32),
                      scores=np.array([0.9, 0.6, 0.25], np.float32), num_tiles=3,
                      forward_seconds=0.0, labels=np.array([1, 0, 1]))


def test_exports_carry_each_class(tmp_path):
    overview = Overview(np.full((50, 100, 3), 255, np.uint8), 0.5)
    paths = export_detections(detections(), tmp_path, 'case/slide', overview,
                              class_names=CLASSES, overlay_score_thr=0.5)
    assert paths['json'] == tmp_path / 'case/slide.json'
    record = json.loads(paths['json'].read_text())
    assert 'class_name' not in record and record['classes'] == ['tumour', 'lymphocyte']
    assert record['detections'] == [
        dict(bbox=[10.0, 20.0, 50.0, 60.0], score=0.9, label=1, class_name='lymphocyte'),
        dict(bbox=[100.0, 4.0, 120.0, 30.0], score=0.6, label=0, class_name='tumour'),
        dict(bbox=[150.0, 50.0, 170.0, 70.0], score=0.25, label=1, class_name='lymphocyte')]
    with open(paths['csv'], newline='') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['x1', 'y1', 'x2', 'y2', 'score', 'label', 'class_name']
    assert rows[2] == ['100.0', '4.0', '120.0', '30.0', '0.6', '0', 'tumour']
    features = json.loads(paths['geojson'].read_text())['features']
    # QuPath's classification: the class name and one colour per class.
    assert [f['properties']['classification'] for f in features] == [
        dict(name='lymphocyte', color=[0, 114, 178]), dict(name='tumour', color=[220, 20, 60]),
        dict(name='lymphocyte', color=[0, 114, 178])]
    overlay = cv2.imread(str(paths['overlay']))
    # Boxes coloured by class (BGR): the lymphocyte's corner (5, 10), the tumour's (50, 2).
    assert overlay[10, 5].tolist() == [178, 114, 0]
    assert overlay[2, 50].tolist() == [60, 20, 220]
    # Legend: a swatch per class under the 50 px overview, then the threshold line.
    assert overlay.shape == (50 + 2 * 20 + 24, 320, 3)
    assert overlay[50 + 10, 20].tolist() == [60, 20, 220]
    assert overlay[50 + 30, 20].tolist() == [178, 114, 0]
    # One heat map per class side by side, each over its legend strip.
    assert cv2.imread(str(paths['heatmap'])).shape == (50 + 40, 2 * 320, 3)
    # One class: the DigestPath layout, untouched.
    single = draw_overlay_with_legend(overview.image, 0.5, detections(), 0.5, None, ['cell'])
    assert single.shape == (50 + 60, 320, 3)


class FailsOnRed(BlobDetector):
    """Raises what a GPU out of memory raises on a slide with a pure red pixel."""

    def test_step(self, data: dict):
        if any(((t[2] == 255) & (t[1] == 0) & (t[0] == 0)).any() for t in data['inputs']):
            raise RuntimeError('CUDA out of memory. Tried to allocate 2.00 GiB')
        return super().test_step(data)


def test_a_runtime_error_is_recorded_and_the_other_slides_finish(tmp_path, capsys):
    folder = tmp_path / 'slides'
    folder.mkdir()
    for name in ('a', 'b', 'c'):
        image = two_class_image()
        if name == 'b':
            image[200, 200] = (0, 0, 255)
        cv2.imwrite(str(folder / f'{name}.png'), image)
    slides = sorted(folder.iterdir())
    rows = run_cohort(tiled(FailsOnRed(full_area=np.pi * 36)), slides, tmp_path / 'out',
                      score_thr=0.5, show_progress=False, max_overview_size=256)
    assert [r.status for r in rows] == ['done', 'error', 'done']
    assert rows[1].error == 'RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB'
    assert rows[0].detections == rows[2].detections == 20
    err = capsys.readouterr().err
    assert 'Traceback' in err and f'{slides[1]}: error: RuntimeError: CUDA out of memory' in err
    with open(tmp_path / 'out/summary.csv', newline='') as f:
        table = list(csv.DictReader(f))
    assert [(r['status'], r['error']) for r in table] == [
        ('done', ''), ('error', rows[1].error), ('done', '')]
    assert not list((tmp_path / 'out').glob('b*'))


def test_cohort_summary_counts_per_class_and_mirrors_same_names(tmp_path):
    for case, seed in (('caseA', 0), ('caseB', 1)):
        (tmp_path / case).mkdir()
        cv2.imwrite(str(tmp_path / case / 'slide1.png'), two_class_image(seed))
    slides = [tmp_path / 'caseA/slide1.png', tmp_path / 'caseB/slide1.png']
    out = tmp_path / 'out'
    rows = run_cohort(tiled(TwoClassBlobDetector(full_area=np.pi * 36)), slides, out,
                      score_thr=0.5, show_progress=False, max_overview_size=256)
    assert [r.output for r in rows] == ['caseA/slide1', 'caseB/slide1']
    assert [r.class_counts for r in rows] == [dict(tumour=12, lymphocyte=8)] * 2
    for case in ('caseA', 'caseB'):
        record = json.loads((out / case / 'slide1.json').read_text())
        assert record['image'] == str(tmp_path / case / 'slide1.png')
        names = {f['properties']['classification']['name']
                 for f in json.loads((out / case / 'slide1.geojson').read_text())['features']}
        assert names == {'tumour', 'lymphocyte'}
        assert (out / case / 'slide1.done.json').is_file()
    # The two images differ (nuclei swapped between classes): so do their outputs.
    assert (out / 'caseA/slide1.csv').read_text() != (out / 'caseB/slide1.csv').read_text()
    with open(out / 'summary.csv', newline='') as f:
        table = list(csv.DictReader(f))
    assert [r['output'] for r in table] == ['caseA/slide1', 'caseB/slide1']
    assert [(r['detections'], r['detections:tumour'], r['detections:lymphocyte'])
            for r in table] == [('20', '12', '8')] * 2
    area = float(table[0]['tissue_area_mm2'])
    assert float(table[0]['per_mm2:lymphocyte']) == pytest.approx(8 / area, rel=1e-3)
    # A rerun resumes; a rerun keeping other classes redoes the slides (stale outputs).
    model = TwoClassBlobDetector(full_area=np.pi * 36)
    again = run_cohort(tiled(model), slides, out, score_thr=0.5, show_progress=False,
                       max_overview_size=256)
    assert [r.status for r in again] == ['resumed', 'resumed']
    subset = run_cohort(tiled(model, classes=['lymphocyte']), slides, out, score_thr=0.5,
                        show_progress=False, max_overview_size=256)
    assert [(r.status, r.class_counts) for r in subset] == [('done', dict(lymphocyte=8))] * 2
