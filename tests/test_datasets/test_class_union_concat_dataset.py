"""ClassUnionConcatDataset: union labels, unannotated classes partial, errors, packing."""
import pytest
import torch
from mmdet.datasets import CocoDataset
from mmengine.registry import init_default_scope
from partial_json import PIPELINE, union_sources

from mmdet_dghm.datasets import ClassUnionConcatDataset


def infos(dataset) -> list:
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def test_labels_and_status_in_the_union(tmp_path):
    dataset = ClassUnionConcatDataset(union_sources(tmp_path), pipeline=[],
                                      classes=('bird', 'cat', 'dog'))
    assert dataset.metainfo['classes'] == ('bird', 'cat', 'dog')
    assert 'palette' not in dataset.metainfo
    got = [([inst['bbox_label'] for inst in info['instances']], info['partial_labels'],
            info['partially_annotated']) for info in infos(dataset)]
    # a1: cat -> 1, bird and dog never boxed by A. a2: partial image, same classes.
    # b1: dog -> 2, bird -> 0; bird partial by its own field, cat never boxed by B.
    assert got == [([1], [0, 2], False), ([], [0, 2], True), ([2, 0], [0, 1], False)]


def test_default_union_order_is_first_appearance(tmp_path):
    dataset = ClassUnionConcatDataset(union_sources(tmp_path), pipeline=[])
    assert dataset.metainfo['classes'] == ('cat', 'dog', 'bird')
    assert [info['partial_labels'] for info in infos(dataset)] == [[1, 2], [1, 2], [0, 2]]


def test_stock_coco_source_without_status(tmp_path):
    cfgs = union_sources(tmp_path)
    stock = CocoDataset(ann_file=cfgs[1]['ann_file'], data_prefix=cfgs[1]['data_prefix'],
                        metainfo=dict(classes=('dog', 'bird')))
    dataset = ClassUnionConcatDataset([cfgs[0], stock], pipeline=[])
    info = dataset.get_data_info(2)
    assert info['partial_labels'] == [0] and info['partially_annotated'] is False
    assert [inst['bbox_label'] for inst in info['instances']] == [1, 2]


def test_sample_through_pack_det_inputs(tmp_path):
    init_default_scope('mmdet')
    dataset = ClassUnionConcatDataset(union_sources(tmp_path), pipeline=PIPELINE,
                                      classes=('bird', 'cat', 'dog'))
    sample = dataset[2]['data_samples']
    assert sample.metainfo['partial_labels'] == [0, 1]
    assert sample.metainfo['partially_annotated'] is False
    assert torch.equal(sample.gt_instances.labels, torch.tensor([2, 0]))


def test_label_outside_the_source_names_file_and_image(tmp_path):
    dataset = ClassUnionConcatDataset(union_sources(tmp_path), pipeline=[])
    with pytest.raises(ValueError, match=r'a\.json: image 9: bbox_label holds labels \[1\]'):
        dataset.to_union(dict(img_id=9, instances=[dict(bbox_label=1)]), 0)
    with pytest.raises(ValueError, match=r'b\.json: image 4: partial_labels holds labels \[2\]'):
        dataset.to_union(dict(img_id=4, instances=[], partial_labels=[0, 2]), 1)


def test_configuration_errors(tmp_path):
    cfgs = union_sources(tmp_path)
    with pytest.raises(ValueError, match=r"b\.json: classes \['bird'\] are not in the union"):
        ClassUnionConcatDataset(cfgs, pipeline=[], classes=('cat', 'dog'))
    with pytest.raises(ValueError, match=r'a\.json: a ClassUnionConcatDataset source must'):
        ClassUnionConcatDataset([dict(cfgs[0], pipeline=PIPELINE), cfgs[1]], pipeline=[])
    with pytest.raises(ValueError, match='the sources differ in metainfo other than'):
        ClassUnionConcatDataset(
            [dict(cfgs[0], metainfo=dict(classes=('cat', ), lab='x')),
             dict(cfgs[1], metainfo=dict(classes=('dog', 'bird'), lab='y'))], pipeline=[])


def test_pipeline_dropping_the_status_is_refused(tmp_path):
    init_default_scope('mmdet')
    keeps_image_flag = [*PIPELINE[:-1], dict(type='PackDetInputs', meta_keys=(
        'img_id', 'img_path', 'ori_shape', 'img_shape', 'partially_annotated'))]
    with pytest.raises(ValueError, match=r"ClassUnionConcatDataset\(.*a\.json, .*b\.json\).*"
                                         r"leaves \('partial_labels',\) out of its meta_keys"):
        ClassUnionConcatDataset(union_sources(tmp_path), pipeline=keeps_image_flag)
