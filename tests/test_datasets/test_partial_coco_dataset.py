"""PartialCocoDataset: image fields -> partially_annotated / partial_labels, errors, packing."""
from pathlib import Path

import pytest
import torch
from mmengine.registry import init_default_scope
from partial_json import PIPELINE, box, write_json

from mmdet_dghm.datasets import PartialCocoDataset

CATEGORIES = [(10, 'cat'), (20, 'dog'), (30, 'bird')]


def build(tmp_path: Path, images: list, annotations: list = (), **kwargs) -> PartialCocoDataset:
    ann_file = write_json(tmp_path / 'coco.json', CATEGORIES, images, annotations,
                          tmp_path / 'img')
    return PartialCocoDataset(ann_file=str(ann_file), data_prefix=dict(img=str(tmp_path / 'img')),
                              metainfo=kwargs.pop('metainfo', dict(classes=('cat', 'dog', 'bird'))),
                              **kwargs)


IMAGES = [
    dict(id=1, file_name='a.jpg', partially_annotated=True),
    dict(id=2, file_name='b.jpg', partial_category_ids=[30, 10]),
    dict(id=3, file_name='c.jpg'),
    dict(id=4, file_name='d.jpg', partially_annotated=False, partial_category_ids=[]),
]


def status(dataset) -> dict:
    return {info['img_id']: (info['partially_annotated'], info['partial_labels'])
            for info in (dataset.get_data_info(i) for i in range(len(dataset)))}


def test_fields_parse_into_status(tmp_path):
    dataset = build(tmp_path, IMAGES, [box(2, 20)])
    assert status(dataset) == {1: (True, []), 2: (False, [0, 2]), 3: (False, []),
                               4: (False, [])}


def test_class_subset_maps_ids_to_its_labels(tmp_path):
    # Classes cat and bird: bird is label 1, dog (20) is not a class and is left out.
    images = [dict(id=1, file_name='a.jpg', partial_category_ids=[30]),
              dict(id=2, file_name='b.jpg', partial_category_ids=[20, 10])]
    dataset = build(tmp_path, images, metainfo=dict(classes=('cat', 'bird')))
    assert status(dataset) == {1: (False, [1]), 2: (False, [0])}


@pytest.mark.parametrize('field, value, message', [
    ('partially_annotated', 'yes', "partially_annotated must be true or false, got 'yes'"),
    ('partially_annotated', 1, 'partially_annotated must be true or false, got 1'),
    ('partial_category_ids', [99, 10], r'partial_category_ids holds category ids \[99\]'),
    ('partial_category_ids', 10, 'partial_category_ids must be a list of integer'),
    ('partial_category_ids', ['cat'], 'partial_category_ids must be a list of integer'),
    ('partial_category_ids', [True], 'partial_category_ids must be a list of integer'),
])
def test_malformed_fields_name_file_and_image(tmp_path, field, value, message):
    images = [dict(id=1, file_name='a.jpg'), dict(id=5, file_name='e.jpg', **{field: value})]
    with pytest.raises(ValueError, match=rf'coco\.json: image 5: {message}'):
        build(tmp_path, images)


def test_sample_through_pack_det_inputs(tmp_path):
    init_default_scope('mmdet')
    dataset = build(tmp_path, IMAGES, [box(2, 20), box(2, 30, x=12)], pipeline=PIPELINE)
    sample = dataset[1]['data_samples']
    assert sample.img_id == 2
    assert sample.metainfo['partially_annotated'] is False
    assert sample.metainfo['partial_labels'] == [0, 2]
    assert torch.equal(sample.gt_instances.labels, torch.tensor([1, 2]))
    assert dataset[0]['data_samples'].metainfo['partially_annotated'] is True
