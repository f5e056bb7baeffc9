"""The pure annotation-status functions: LVIS status, id and label maps, their errors."""
import numpy as np
import pytest

from mmdet_dghm.datasets.annotation_status import (
    check_known_ids,
    id_array,
    ids_to_labels,
    lvis_partial_labels,
    remap_labels,
    unannotated_labels,
    union_classes,
    union_label_map,
)

WHERE = 'x.json: image 7'


def test_lvis_partial_is_unknown_or_not_exhaustive():
    # 0 boxed, 1 verified absent, 3 boxed but not exhaustive; 2, 4, 5 never checked.
    out = lvis_partial_labels(6, np.array([0, 3]), np.array([1]), np.array([3]))
    np.testing.assert_array_equal(out, [2, 3, 4, 5])
    assert out.dtype == np.int64


def test_lvis_everything_checked_gives_nothing():
    out = lvis_partial_labels(3, np.array([0]), np.array([1, 2]), np.array([], np.int64))
    assert out.tolist() == []


def test_lvis_nothing_checked_gives_everything():
    empty = np.array([], np.int64)
    assert lvis_partial_labels(4, empty, empty, empty).tolist() == [0, 1, 2, 3]


def test_ids_to_labels_follow_label_order_and_skip_other_classes():
    # Labels are positions in cat_ids; 99 is a category of the file but not a class.
    out = ids_to_labels(np.array([30, 99, 10, 30]), [20, 10, 30])
    assert out.tolist() == [1, 2]


@pytest.mark.parametrize('value', ['1', [1, 'a'], [True], None, {'a': 1}, [1.0]])
def test_id_array_refuses_non_id_lists(value):
    with pytest.raises(ValueError, match='x.json: image 7: f must be a list'):
        id_array(value, 'f', WHERE)


def test_id_array_and_known_ids():
    ids = id_array([3, 1], 'f', WHERE)
    assert ids.tolist() == [3, 1] and ids.dtype == np.int64
    check_known_ids(ids, {1: None, 3: None}, 'f', WHERE)
    with pytest.raises(ValueError, match=r'x.json: image 7: f holds category ids \[3\]'):
        check_known_ids(ids, [1, 2], 'f', WHERE)


def test_union_maps():
    assert union_classes([('b', 'a'), ('c', 'a')]) == ('b', 'a', 'c')
    label_map = union_label_map(('c', 'a'), ('a', 'b', 'c'), 'src')
    assert label_map.tolist() == [2, 0]
    assert unannotated_labels(label_map, 3).tolist() == [1]
    assert remap_labels([1, 0, 0], label_map, 'bbox_label', WHERE).tolist() == [0, 2, 2]


def test_union_map_errors():
    with pytest.raises(ValueError, match=r"src: classes \['z'\] are not in the union"):
        union_label_map(('a', 'z'), ('a', 'b'), 'src')
    with pytest.raises(ValueError, match='src: the source class list repeats'):
        union_label_map(('a', 'a'), ('a', 'b'), 'src')
    with pytest.raises(ValueError, match='src: the union class list repeats'):
        union_label_map(('a', ), ('a', 'a'), 'src')


@pytest.mark.parametrize('labels', [[2], [-1]])
def test_remap_refuses_labels_outside_the_source(labels):
    message = rf'x.json: image 7: bbox_label holds labels \[{labels[0]}\]'
    with pytest.raises(ValueError, match=message):
        remap_labels(labels, np.array([2, 0]), 'bbox_label', WHERE)
