import numpy as np
import pytest

from mmdet_dghm.structures.boxes import box_areas
from mmdet_dghm.structures.slicing import (
    clip_boxes_to_windows,
    sliding_windows,
    split_visible,
    window_starts,
)


def test_window_starts_snaps_last_window_to_edge():
    # Regular starts stop before the snapped one: 1200 + 800 < 2003 so 1203 is still needed.
    np.testing.assert_array_equal(window_starts(2003, 800, 300),
                                  [0, 300, 600, 900, 1200, 1203])
    np.testing.assert_array_equal(window_starts(1400, 800, 300), [0, 300, 600])
    np.testing.assert_array_equal(window_starts(2003, 800, 800), [0, 800, 1203])
    np.testing.assert_array_equal(window_starts(800, 800, 300), [0])
    np.testing.assert_array_equal(window_starts(500, 800, 300), [0])


@pytest.mark.parametrize('length,size,stride', [(0, 8, 4), (10, 0, 1), (10, 8, 0),
                                                (10, 8, -2), (10, 8, 9)])
def test_window_starts_rejects_bad_arguments(length, size, stride):
    with pytest.raises(ValueError, match='must be'):
        window_starts(length, size, stride)


@pytest.mark.parametrize('width,height,size,stride', [(2003, 2010, 800, 300),
                                                      (2003, 2010, 800, 800),
                                                      (517, 333, 256, 191),
                                                      (100, 90, 256, 128)])
def test_windows_cover_every_pixel_and_stay_inside(width, height, size, stride):
    windows = sliding_windows(width, height, size, stride)
    assert windows[:, :2].min() == 0
    assert (windows[:, 2] <= width).all() and (windows[:, 3] <= height).all()
    np.testing.assert_array_equal(windows[:, 2] - windows[:, 0], min(size, width))
    np.testing.assert_array_equal(windows[:, 3] - windows[:, 1], min(size, height))
    hits = np.zeros((height, width), dtype=np.int32)
    for x1, y1, x2, y2 in windows:
        hits[y1:y2, x1:x2] += 1
    assert hits.min() >= 1


def test_window_count_for_paper_setting():
    # 2003 x 2010 at 800/300: x starts 0..1200 step 300 then 1203; y likewise then 1210.
    windows = sliding_windows(2003, 2010, 800, 300)
    assert len(windows) == 36
    np.testing.assert_array_equal(windows[-1], [1203, 1210, 2003, 2010])


def test_box_cut_by_border_is_gt_where_held_and_ignored_elsewhere():
    windows = np.array([[0, 0, 100, 100], [90, 0, 190, 100], [200, 0, 300, 100]])
    box = np.array([[80, 10, 100, 30]])  # 20 x 20: all in window 0, half-width 10 in window 1
    clipped, visible = clip_boxes_to_windows(box, windows)
    np.testing.assert_allclose(visible[:, 0], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(clipped[0, 0], [80, 10, 100, 30])
    np.testing.assert_allclose(clipped[1, 0], [0, 10, 10, 30])  # window coordinates
    present, ignored = split_visible(visible, min_visible=0.6)
    np.testing.assert_array_equal(present[:, 0], [True, True, False])
    np.testing.assert_array_equal(ignored[:, 0], [False, True, False])
    _, ignored_at_half = split_visible(visible, min_visible=0.5)
    assert not ignored_at_half.any()


def test_clip_handles_no_boxes_and_zero_area():
    clipped, visible = clip_boxes_to_windows(np.zeros((0, 4)), np.array([[0, 0, 10, 10]]))
    assert clipped.shape == (1, 0, 4) and visible.shape == (1, 0)
    _, visible = clip_boxes_to_windows(np.array([[3, 3, 3, 8]]), np.array([[0, 0, 10, 10]]))
    assert visible[0, 0] == 0
    np.testing.assert_allclose(box_areas(np.array([[0, 0, 2, 3], [5, 5, 4, 9]])), [6, 0])
