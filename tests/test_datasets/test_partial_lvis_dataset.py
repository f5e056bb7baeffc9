"""PartialLVISV1Dataset: federated status (not exhaustive + unknown), errors, packing."""
from pathlib import Path

import pytest
from mmengine.registry import init_default_scope
from partial_json import PIPELINE, box, write_json

from mmdet_dghm.datasets import PartialLVISV1Dataset

CATEGORIES = [(1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')]
URL = 'http://images.cocodataset.org/val2017/'


def image(img_id: int, neg: list, not_exhaustive: list, **extra) -> dict:
    return dict(id=img_id, coco_url=f'{URL}{img_id:012d}.jpg', neg_category_ids=neg,
                not_exhaustive_category_ids=not_exhaustive, **extra)


IMAGES = [image(1, [2], []), image(2, [2, 4], [1]), image(3, [1, 2, 3, 4], [])]
ANNOTATIONS = [box(1, 1), box(2, 1), box(2, 3, x=14)]


def build(tmp_path: Path, images: list, annotations: list = ANNOTATIONS,
          **kwargs) -> PartialLVISV1Dataset:
    ann_file = write_json(tmp_path / 'lvis.json', CATEGORIES, images, annotations)
    (tmp_path / 'img' / 'val2017').mkdir(parents=True, exist_ok=True)
    for img in images:
        write_json(tmp_path / 'unused.json', [], [dict(file_name=f'{img["id"]:012d}.jpg')], [],
                   tmp_path / 'img' / 'val2017')
    return PartialLVISV1Dataset(ann_file=str(ann_file),
                                data_prefix=dict(img=str(tmp_path / 'img') + '/'),
                                metainfo=dict(classes=('a', 'b', 'c', 'd')), **kwargs)


def test_federated_status(tmp_path):
    dataset = build(tmp_path, IMAGES)
    infos = [dataset.get_data_info(i) for i in range(3)]
    # 1: a boxed, b negative -> c, d unknown. 2: a boxed but not exhaustive, c boxed,
    # b, d negative -> a. 3: everything verified negative -> none.
    assert [info['partial_labels'] for info in infos] == [[2, 3], [0], []]
    assert [info['partially_annotated'] for info in infos] == [False] * 3
    assert infos[1]['img_path'].endswith('img/val2017/000000000002.jpg')
    assert [inst['bbox_label'] for inst in infos[1]['instances']] == [0, 2]


@pytest.mark.parametrize('bad, message', [
    (dict(id=5, coco_url=f'{URL}5.jpg', not_exhaustive_category_ids=[]),
     'LVIS v1 images need neg_category_ids'),
    (image(5, [1], []), r'categories \[1\] are in neg_category_ids and boxed'),
    (image(5, [2], [2]),
     r'categories \[2\] are in neg_category_ids and not_exhaustive_category_ids'),
    (image(5, [9], []), r'neg_category_ids holds category ids \[9\]'),
    (image(5, [], [3, 8]), r'not_exhaustive_category_ids holds category ids \[8\]'),
    (image(5, [], '3'), 'not_exhaustive_category_ids must be a list of integer'),
    (dict(id=5, neg_category_ids=[], not_exhaustive_category_ids=[]),
     'the image has neither file_name nor coco_url'),
])
def test_malformed_images_name_file_and_image(tmp_path, bad, message):
    with pytest.raises(ValueError, match=rf'lvis\.json: image 5: {message}'):
        build(tmp_path, [image(1, [2], []), bad], ANNOTATIONS[:1] + [box(5, 1)])


def test_sample_through_pack_det_inputs(tmp_path):
    init_default_scope('mmdet')
    dataset = build(tmp_path, IMAGES, pipeline=PIPELINE)
    sample = dataset[0]['data_samples']
    assert sample.metainfo['partial_labels'] == [2, 3]
    assert sample.metainfo['partially_annotated'] is False
    assert sample.gt_instances.labels.tolist() == [0]
