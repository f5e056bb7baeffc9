"""One cell, one detection: the same image as one window and as overlapping windows."""
import cv2
import numpy as np
import pytest
from blob_detector import BlobDetector

from mmdet_dghm.apis import TiledDetector
from mmdet_dghm.structures import (
    intersection_over_smaller,
    ios_nms,
    merge_tile_predictions,
    sliding_windows,
    window_cores,
)

RADIUS = 9
IMAGE = 512


def cells_image(num: int = 160, seed: int = 0) -> np.ndarray:
    """Pink background with ``num`` dark discs of radius 9 px, none touching another."""
    rng = np.random.default_rng(seed)
    image = np.full((IMAGE, IMAGE, 3), (200, 150, 220), np.uint8)
    centres = []
    while len(centres) < num:
        c = rng.uniform(RADIUS + 1, IMAGE - RADIUS - 1, 2)
        if all(np.hypot(*(c - o)) > 2 * RADIUS + 3 for o in centres):
            centres.append(c)
            cv2.circle(image, (int(c[0]), int(c[1])), RADIUS, (120, 40, 90), -1)
    return image


def nested_pairs(bboxes: np.ndarray, min_inside: float = 0.8) -> int:
    """Pairs of boxes with at least ``min_inside`` of one inside the other."""
    return sum(int((intersection_over_smaller(b, bboxes[i + 1:]) >= min_inside).sum())
               for i, b in enumerate(bboxes))


def test_ios_nms_drops_boxes_mostly_inside_a_better_one():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 5, 10], [20, 20, 30, 30], [2, 1, 9, 12]],
                     np.float32)
    scores = np.array([0.5, 0.9, 0.3, 0.4], np.float32)
    # Kept b1 (0.9) drops b0 (b1 lies wholly inside it: IoS 1) and b3 (IoS 27/50 = 0.54).
    kept, kept_scores = ios_nms(boxes, scores, ios_thr=0.5)
    np.testing.assert_array_equal(kept, [[0, 0, 5, 10], [20, 20, 30, 30]])
    np.testing.assert_array_equal(kept_scores, np.float32([0.9, 0.3]))
    # Above 0.54, b3 survives b1; b0 is already gone, so b3 (82% inside b0) stays.
    kept, _ = ios_nms(boxes, scores, ios_thr=0.6)
    np.testing.assert_array_equal(kept, [[0, 0, 5, 10], [2, 1, 9, 12], [20, 20, 30, 30]])
    with pytest.raises(ValueError, match='ios_thr=1'):
        ios_nms(boxes, scores, ios_thr=1)


def test_window_cores_split_overlaps_in_the_middle():
    windows = sliding_windows(250, 100, 100, 75)  # x starts 0, 75, 150; y 0
    cores = window_cores(windows)
    np.testing.assert_array_equal(cores[:, 0], [-np.inf, 87.5, 162.5])
    np.testing.assert_array_equal(cores[:, 2], [87.5, 162.5, np.inf])
    assert (cores[:, 1] == -np.inf).all() and (cores[:, 3] == np.inf).all()
    # A box centred at x = 90 is kept from the second window only.
    box = np.array([[80, 0, 100, 20]], np.float32)
    bboxes, _ = merge_tile_predictions([box, box - [75, 0, 75, 0]], [[0.9], [0.8]],
                                       [(0, 0), (75, 0)], ios_thr=0.5, cores=cores[:2])
    np.testing.assert_array_equal(bboxes, box)
    kept, scores = merge_tile_predictions([box, box - [75, 0, 75, 0]], [[0.9], [0.8]],
                                          [(0, 0), (75, 0)], ios_thr=0.5)
    assert scores.tolist() == [np.float32(0.9)]


def test_merge_tile_predictions_keeps_nms_by_default_and_drops_halves_with_ios():
    # A 20 px cell cut at x = 100: its left half in one tile, whole in the next (origin 90).
    left = np.array([[90, 0, 100, 20]], np.float32)
    whole = np.array([[0, 0, 20, 20]], np.float32)
    args = ([left, whole], [[0.6], [0.9]], [(0, 0), (90, 0)])
    assert len(merge_tile_predictions(*args)[0]) == 2  # IoU 0.5: not above the NMS threshold
    bboxes, scores = merge_tile_predictions(*args, ios_thr=0.5)
    np.testing.assert_array_equal(bboxes, [[90, 0, 110, 20]])  # the whole one, scoring higher
    np.testing.assert_array_equal(scores, np.float32([0.9]))


def test_overlapping_windows_count_as_one_window_without_nested_boxes(tmp_path):
    path = tmp_path / 'cells.png'
    cv2.imwrite(str(path), cells_image())
    model = BlobDetector(full_area=np.pi * RADIUS ** 2)
    # 512 px as one window, and as 5 x 5 windows of 160 px overlapping by at least 48 px.
    one = TiledDetector(model, tile_size=IMAGE, overlap=0).detect(path)
    many = TiledDetector(model, tile_size=160, overlap=48).detect(path)
    nms = TiledDetector(model, tile_size=160, overlap=48, ios_thr=None).detect(path)
    assert (one.num_tiles, many.num_tiles) == (1, 25)
    counts = [int((det.scores >= 0.3).sum()) for det in (one, many, nms)]
    # Every disc is one blob in the whole image; IoU-NMS keeps the partial box of each disc
    # cut by a window edge beside its whole box, suppression by IoS does not.
    assert counts[0] == 160
    assert abs(counts[1] - counts[0]) <= 0.02 * counts[0]
    assert counts[2] > 1.1 * counts[0]
    assert nested_pairs(many.bboxes) == 0
    assert nested_pairs(nms.bboxes) >= counts[2] - counts[0]
