"""A missing rate written out (``removed_boxes.json``): read back exactly, carried by the
DigestPath entries, refused where malformed, incomplete or removed twice; and the VOC pieces
the writer uses (``<pseudo>`` flags, objects left out)."""
import json
from pathlib import Path

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmdet_dghm.datasets import DigestPathDataset
from mmdet_dghm.datasets.removed_boxes import (
    REMOVED_BOXES_FILE,
    RemovedBoxes,
    read_removed_boxes,
    write_removed_boxes,
)
from mmdet_dghm.datasets.voc_annotation import add_voc_pseudo_boxes, parse_voc_xml

SRC = ('ring_cell_cancer', )
# Removed from small_layout's two positive images (A: 300 x 200, B: 130 x 140).
REMOVED = {'A-lv0-1.jpeg': [[60.5, 120.0, 90.25, 150.0]], 'B-lv0-1.jpeg': []}


def build(root: Path, **kwargs) -> DigestPathDataset:
    init_default_scope('mmdet')
    options = dict(data_root=str(root), tile_size=400, tile_stride=400, pipeline=[])
    return DigestPathDataset(**dict(options, **kwargs))


def by_image(dataset: DigestPathDataset) -> dict:
    return {Path(dataset.get_data_info(i)['src_img_path']).name: dataset.get_data_info(i)
            for i in range(len(dataset))}


def write(root: Path, images=None, **fields) -> None:
    record = dict(drop_rate=0.7, drop_seed=2, source='/data/original',
                  images=REMOVED if images is None else images)
    record.update(fields)
    (root / REMOVED_BOXES_FILE).write_text(json.dumps(record))


def test_written_removal_round_trips_and_rides_on_every_entry(small_layout):
    removal = RemovedBoxes(boxes={k: np.asarray(v, dtype=np.float32).reshape(-1, 4)
                                  for k, v in REMOVED.items()},
                           drop_rate=0.7, drop_seed=2, source='/data/original')
    write_removed_boxes(small_layout, removal)
    back = read_removed_boxes(small_layout)
    assert (back.drop_rate, back.drop_seed, back.source) == (0.7, 2, '/data/original')
    assert sorted(back.boxes) == sorted(REMOVED)
    for name, boxes in REMOVED.items():
        np.testing.assert_array_equal(back.boxes[name],
                                      np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
    # Training entries carry the removed boxes too (scaled like the rest); the XML's boxes
    # are the instances, none removed again.
    for test_mode in (False, True):
        entries = by_image(build(small_layout, scale=0.5, test_mode=test_mode))
        np.testing.assert_array_equal(entries['A-lv0-1.jpeg']['src_removed_bboxes'],
                                      [[30.25, 60.0, 45.125, 75.0]])
        assert entries['B-lv0-1.jpeg']['src_removed_bboxes'].shape == (0, 4)
        assert entries['C-lv0-1.jpeg']['src_removed_bboxes'].shape == (0, 4)
        assert len(entries['A-lv0-1.jpeg']['instances']) == 4
    # Without the file, a dataset that removes nothing carries no removed boxes in training.
    (small_layout / REMOVED_BOXES_FILE).unlink()
    assert read_removed_boxes(small_layout) is None
    assert 'src_removed_bboxes' not in by_image(build(small_layout))['A-lv0-1.jpeg']


def test_written_removal_is_not_removed_twice(small_layout):
    write(small_layout)
    with pytest.raises(ValueError, match=r'dp/removed_boxes\.json: this data root has its '
                       r'boxes removed already \(drop_rate=0\.7, drop_seed=2 of '
                       r'/data/original\); read it with drop_rate=0, not 0\.5'):
        build(small_layout, drop_rate=0.5)


@pytest.mark.parametrize('images,fields,match', [
    ({'A-lv0-1.jpeg': []}, {}, r"lists no removed boxes of the positive images "
     r"\['B-lv0-1\.jpeg'\]"),
    (dict(REMOVED, **{'C-lv0-1.jpeg': []}), {}, r"lists \['C-lv0-1\.jpeg'\], which are no "
     'positive images'),
    ({'A-lv0-1.jpeg': [[1, 2, 3]], 'B-lv0-1.jpeg': []}, {}, r'A-lv0-1\.jpeg: expected a list '
     r'of \[xmin, ymin, xmax, ymax\]'),
    ({'A-lv0-1.jpeg': [[5, 2, 3, 4]], 'B-lv0-1.jpeg': []}, {}, r'box \[5, 2, 3, 4\] is not '
     'finite with xmin <= xmax'),
    (None, dict(drop_rate=0), r'drop_rate 0 must be a number in \(0, 1\]'),
    (None, dict(drop_seed='x'), "drop_seed 'x' must be an integer"),
], ids=['image-missing', 'unknown-image', 'three-numbers', 'xmin-above-xmax', 'rate-0',
        'seed-not-int'])
def test_bad_removed_boxes_file_names_itself(small_layout, images, fields, match):
    write(small_layout, images, **fields)
    with pytest.raises(ValueError, match=r'dp/removed_boxes\.json: .*' + match):
        build(small_layout)


def test_unreadable_removed_boxes_file(small_layout):
    (small_layout / REMOVED_BOXES_FILE).write_text('{"drop_rate": 0.7,')
    with pytest.raises(ValueError, match=r'removed_boxes\.json: malformed JSON'):
        build(small_layout)
    (small_layout / REMOVED_BOXES_FILE).write_text('{"drop_rate": 0.7}')
    with pytest.raises(ValueError, match=r"removed_boxes\.json: expected an object with the "
                       r"keys \['drop_rate', 'drop_seed', 'source', 'images'\]"):
        build(small_layout)


def test_voc_objects_left_out_and_pseudo_flags(small_layout, tmp_path):
    source = small_layout / 'sig-train-pos' / 'A-lv0-1.xml'
    target = tmp_path / 'A.xml'
    assert add_voc_pseudo_boxes(source, target, np.array([[1.4, 2.6, 9.5, 9.0]]), [0.75],
                                SRC, remove_objects=[2, 0]) == 1
    written = parse_voc_xml(target, SRC)
    assert written.bboxes.tolist() == [[100, 50, 180, 90], [250, 20, 290, 60], [1, 3, 10, 9]]
    assert written.pseudo.tolist() == [False, False, True]
    assert '<score>0.7500</score>' in target.read_text()
    with pytest.raises(ValueError, match=r'A-lv0-1\.xml: has 4 objects; cannot remove '
                       r'objects \[4\]'):
        add_voc_pseudo_boxes(source, target, np.zeros((0, 4)), [], [], remove_objects=[4])
    target.write_text(target.read_text().replace('<pseudo>1</pseudo>', '<pseudo>yes</pseudo>'))
    with pytest.raises(ValueError, match=r'A\.xml: object 2 has <pseudo>yes</pseudo>; '
                       'expected 0 or 1'):
        parse_voc_xml(target, SRC)
