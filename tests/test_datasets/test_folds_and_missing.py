import numpy as np
import pytest

from mmdet_dghm.datasets.folds import assign_slide_folds, slide_id
from mmdet_dghm.datasets.missing import drop_mask


def test_slide_id_from_name_and_fallback():
    assert slide_id('2018_67247_1-4_2019-02-25 23_30_15-lv0-11882-64596-2042-2032.jpeg') == \
        '2018_67247_1-4_2019-02-25 23_30_15'
    assert slide_id('tile_007.jpeg') == 'tile_007'
    assert slide_id('S9_x3.png', pattern=r'^(S\d+)_') == 'S9'


def test_folds_balance_positive_and_negative_images_separately():
    pos = {'p0': 5, 'p1': 4, 'p2': 3, 'p3': 2, 'p4': 1, 'p5': 1}
    neg = {f'n{i}': 2 for i in range(9)} | {'p0': 7}
    folds = assign_slide_folds(pos, neg, num_folds=3)
    # Greedy, largest first: p0->0, p1->1, p2->2, p3->2, p4->1 (loads 5,5,5), p5->0.
    assert [folds[s] for s in ['p0', 'p1', 'p2', 'p3', 'p4', 'p5']] == [0, 1, 2, 2, 1, 0]
    neg_loads = np.bincount([folds[f'n{i}'] for i in range(9)], minlength=3)
    np.testing.assert_array_equal(neg_loads, [3, 3, 3])
    assert folds['p0'] == 0  # a slide with positive images follows its positive fold
    assert folds == assign_slide_folds(dict(reversed(pos.items())), neg, num_folds=3)
    with pytest.raises(ValueError, match='num_folds'):
        assign_slide_folds(pos, neg, num_folds=0)


@pytest.mark.parametrize('num_boxes,rate,expected', [(10, 0.5, 5), (7, 0.2, 1), (8, 0.7, 6),
                                                     (5, 0.0, 0), (5, 1.0, 5), (0, 0.5, 0)])
def test_drop_mask_removes_rounded_share(num_boxes, rate, expected):
    assert drop_mask(num_boxes, rate, seed=3, key='img.jpeg').sum() == expected


def test_drop_mask_is_deterministic_per_image_and_seed():
    a = drop_mask(50, 0.5, seed=0, key='a.jpeg')
    np.testing.assert_array_equal(a, drop_mask(50, 0.5, seed=0, key='a.jpeg'))
    assert not np.array_equal(a, drop_mask(50, 0.5, seed=0, key='b.jpeg'))
    assert not np.array_equal(a, drop_mask(50, 0.5, seed=1, key='a.jpeg'))
    with pytest.raises(ValueError, match='drop_rate'):
        drop_mask(3, 1.5, seed=0, key='a.jpeg')
