"""tools/mark_partial.py: the status written into a COCO json, read back by PartialCocoDataset."""
import json

import pytest
from mmdet.registry import DATASETS
from mmengine.registry import init_default_scope


def statuses(ann_file):
    init_default_scope('mmdet')
    dataset = DATASETS.build(dict(type='PartialCocoDataset', data_root=str(ann_file.parent),
                                  ann_file=ann_file.name, data_prefix=dict(img='images/'),
                                  metainfo=dict(classes=('person', 'car')), pipeline=[],
                                  test_mode=True))
    return [(dataset.get_data_info(i)['partially_annotated'],
             list(dataset.get_data_info(i)['partial_labels'])) for i in range(len(dataset))]


def test_mark_all_some_and_per_category(tiny_coco, load_tool):
    ann = tiny_coco(num_images=4)
    tool = load_tool('mark_partial')
    assert statuses(ann) == [(False, [])] * 4  # COCO's own assumption: exhaustive

    everything = ann.parent / 'all.json'
    assert tool.main([str(ann), '--out', str(everything)]) == 0
    assert statuses(everything) == [(True, [])] * 4

    some = ann.parent / 'some.json'
    (ann.parent / 'list.txt').write_text('003.png\n\n')
    assert tool.main([str(ann), '--out', str(some), '--images', '1',
                      '--image-list', str(ann.parent / 'list.txt')]) == 0
    assert statuses(some) == [(True, []), (False, []), (False, []), (True, [])]

    # 'car' (category id 3, label 1) never annotated in image 2, then 'person' added there.
    per_class = ann.parent / 'car.json'
    assert tool.main([str(ann), '--out', str(per_class), '--images', '2',
                      '--categories', 'car']) == 0
    assert tool.main([str(per_class), '--out', str(per_class), '--images', '001.png',
                      '--categories', 'person']) == 0
    assert statuses(per_class) == [(False, []), (False, [0, 1]), (False, []), (False, [])]
    marked = json.loads(per_class.read_text())
    assert marked['annotations'] == json.loads(ann.read_text())['annotations']


def test_mark_refuses_unknown_names(tiny_coco, load_tool):
    ann = tiny_coco(num_images=2)
    tool = load_tool('mark_partial')
    with pytest.raises(ValueError, match=r"no image has the id or file name \['9.png'\]"):
        tool.main([str(ann), '--out', str(ann.parent / 'x.json'), '--images', '9.png'])
    with pytest.raises(ValueError, match=r"no category is named \['bus'\]"):
        tool.main([str(ann), '--out', str(ann.parent / 'x.json'), '--categories', 'bus'])
