"""Exact values of the DigestPath measures (paper eq. 13-16) on hand-made cases."""
import math

import numpy as np
import pytest

from mmdet_dghm.evaluation.metrics import (
    ImageDetections,
    bbox_iou_matrix,
    froc_curve,
    froc_score,
    greedy_match,
    match_images,
    normal_fps,
    removed_recall_at_fps,
    summarize_matches,
)


def test_iou_matrix_values():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]])
    # (0,0,10,10) vs (5,0,15,10): intersection 50, union 150; empty union gives 0.
    np.testing.assert_allclose(bbox_iou_matrix(a, b), [[1 / 3, 0, 0], [0, 0, 0]])
    assert bbox_iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)
    with pytest.raises(ValueError, match='bboxes2 must have shape'):
        bbox_iou_matrix(a, np.zeros((2, 5)))


GT = np.array([[0, 0, 10, 10], [6, 0, 16, 10]], dtype=float)
# IoU with GT[0] / GT[1]: P_A 0.667 / 0.429, P_B 0.818 / 0.333, P_C 1.0 / 0.25.
P_A, P_B, P_C = [2, 0, 12, 10], [1, 0, 11, 10], [0, 0, 10, 10]


def test_greedy_match_takes_best_unmatched_box_in_score_order():
    # Input order shuffled: matching follows the scores (P_A 0.9, P_B 0.8, P_C 0.7).
    matched = greedy_match(np.array([P_C, P_A, P_B]), np.array([0.7, 0.9, 0.8]), GT, 0.3)
    # P_A takes GT[0]; P_B's best (GT[0]) is taken so it takes GT[1] (0.333 >= 0.3);
    # P_C duplicates GT[0] and overlaps GT[1] by 0.25 only: a false positive.
    np.testing.assert_array_equal(matched, [-1, 0, 1])


def test_greedy_match_order_decides_which_prediction_gets_which_box():
    matched = greedy_match(np.array([P_A, P_B]), np.array([0.8, 0.9]), GT, 0.3)
    np.testing.assert_array_equal(matched, [1, 0])
    # Tied scores: input order, so P_A comes first and takes GT[0].
    matched = greedy_match(np.array([P_A, P_B]), np.array([0.5, 0.5]), GT, 0.3)
    np.testing.assert_array_equal(matched, [0, 1])
    # Raising the IoU threshold above 0.333 leaves P_B unmatched.
    matched = greedy_match(np.array([P_A, P_B]), np.array([0.9, 0.8]), GT, 0.34)
    np.testing.assert_array_equal(matched, [0, -1])


def test_greedy_match_edge_cases():
    assert greedy_match(np.zeros((0, 4)), np.zeros(0), GT).shape == (0,)
    np.testing.assert_array_equal(greedy_match(np.array([P_A]), [0.5], np.zeros((0, 4))), [-1])
    with pytest.raises(ValueError, match='iou_thr must be in'):
        greedy_match(np.array([P_A]), [0.5], GT, 0.0)
    with pytest.raises(ValueError, match='1 boxes but 2 scores'):
        greedy_match(np.array([P_A]), [0.5, 0.4], GT)


def crowded_case(seed: int):
    """30 boxes crowded in a 50 px square, 80 jittered predictions with many tied scores."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 40, (30, 2))
    gt = np.concatenate([xy, xy + 10], axis=1)
    preds = gt[rng.integers(0, 30, 80)] + rng.uniform(-4, 4, (80, 4))
    scores = rng.choice(np.linspace(0.1, 1.0, 10), 80)
    return preds, scores, gt


def reference_greedy_match(bboxes, scores, gt_bboxes, iou_thr):
    """The matching rule written out literally, one prediction at a time."""
    matched = np.full(len(bboxes), -1)
    free = list(range(len(gt_bboxes)))
    for i in sorted(range(len(bboxes)), key=lambda i: -scores[i]):
        ious = [bbox_iou_matrix(bboxes[i:i + 1], gt_bboxes[j:j + 1])[0, 0] for j in free]
        if ious and max(ious) >= iou_thr:
            matched[i] = free.pop(int(np.argmax(ious)))
    return matched


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_greedy_match_equals_the_literal_rule(seed):
    preds, scores, gt = crowded_case(seed)
    matched = greedy_match(preds, scores, gt, 0.3)
    assert 10 < np.count_nonzero(matched >= 0) < 80
    np.testing.assert_array_equal(matched, reference_greedy_match(preds, scores, gt, 0.3))


def test_matches_above_a_threshold_are_the_matches_of_the_thresholded_predictions():
    """One greedy pass per image serves the FROC sweep: the prefix property."""
    preds, scores, gt = crowded_case(0)
    full = greedy_match(preds, scores, gt, 0.3)
    for thr in np.unique(scores):
        keep = scores >= thr
        np.testing.assert_array_equal(greedy_match(preds[keep], scores[keep], gt, 0.3),
                                      full[keep])


def box(x: float) -> list:
    return [x, 0, x + 10, 0 + 10]


def hand_made_images() -> list:
    """Two positive, two normal and one unlabelled image; expected values derived below."""
    p1 = ImageDetections(
        bboxes=np.array([box(0), box(1), box(40), box(20), [100, 100, 110, 110]]),
        # box(0) TP kept, box(1) duplicate FP, box(40) TP removed, box(20) TP kept but < 0.5,
        # the last one FP.
        scores=np.array([0.9, 0.8, 0.6, 0.3, 0.7]),
        gt_bboxes=np.array([box(0), box(20)]),
        removed_bboxes=np.array([box(40)]))
    p2 = ImageDetections(bboxes=np.array([[60, 60, 70, 70]]), scores=np.array([0.55]),
                         gt_bboxes=np.array([box(0)]))
    n1 = ImageDetections(bboxes=np.array([box(0)] * 3), scores=np.array([0.95, 0.6, 0.4]),
                         gt_bboxes=np.zeros((0, 4)), partially_annotated=False)
    n2 = ImageDetections(bboxes=np.array([box(0)] * 2), scores=np.array([0.6, 0.2]),
                         gt_bboxes=np.zeros((0, 4)), partially_annotated=False)
    # Partially annotated without boxes: neither positive nor normal, so ignored.
    unlabelled = ImageDetections(bboxes=np.array([box(0)]), scores=np.array([0.99]),
                                 gt_bboxes=np.zeros((0, 4)))
    return [p1, p2, n1, n2, unlabelled]


def test_match_images_pools_and_labels_predictions():
    matched = match_images(hand_made_images(), 0.3)
    np.testing.assert_array_equal(matched.pos_scores, [0.9, 0.8, 0.6, 0.3, 0.7, 0.55])
    np.testing.assert_array_equal(matched.pos_kinds, [1, 0, 2, 1, 0, 0])
    np.testing.assert_array_equal(matched.normal_scores, [0.95, 0.6, 0.4, 0.6, 0.2])
    assert (matched.num_kept, matched.num_removed) == (3, 1)
    assert (matched.num_pos_images, matched.num_normal_images) == (2, 2)


def test_every_key_on_the_hand_made_case():
    metrics = summarize_matches(match_images(hand_made_images(), 0.3), score_thr=0.5)
    assert metrics == pytest.approx(dict(
        recall=2 / 4,  # box(0) and the removed box(40) of 4 boxes (eq. 13)
        precision=2 / 5,  # 5 predictions >= 0.5 on positive images (eq. 14)
        nfps=100 - 3 / 2,  # 0.95, 0.6, 0.6 over 2 normal images (eq. 15)
        # NRFP -> best recall: <=1: 0.25 (t=0.7); <=2: 0.75 (t=0.3); 4..32: 0.75 (eq. 16).
        froc=(0.25 + 5 * 0.75) / 6,
        froc_complete=0.0,  # NRFP reaches 2.5, not 32
        **{'recall@1fp': 0.25, 'recall@8fp': 0.75},
        r_recall=1 / 1,
        t_recall=1 / 3,
        # FPs of the positive images >= 0.6: 0.8 and 0.7 over 2 images, 1 per image.
        **{'r_recall@1fp': 1.0, 'r_recall@8fp': 1.0},
        num_pos_images=2,
        num_normal_images=2))


def test_froc_curve_includes_tied_scores_together():
    matched = match_images(hand_made_images(), 0.3)
    thresholds, nrfp, recall = froc_curve(matched.pos_scores, matched.pos_kinds > 0,
                                          matched.num_gt, matched.normal_scores,
                                          matched.num_normal_images)
    np.testing.assert_allclose(thresholds, [0.2, 0.3, 0.4, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95])
    # At 0.6 both normal predictions of score 0.6 enter with the TP of score 0.6: the point
    # (NRFP 1.0, recall 0.5), which would lift FROC at f=1, must not exist.
    np.testing.assert_allclose(nrfp, [2.5, 2.0, 2.0, 1.5, 1.5, 0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(recall, [0.75, 0.75, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.0])


def test_froc_score_unreachable_rates_count_zero():
    nrfp, recall = np.array([50.0, 40.0]), np.array([0.9, 0.5])
    assert froc_score(nrfp, recall, (1, 2)) == 0.0
    assert froc_score(nrfp, recall, (1, 45, 64)) == pytest.approx((0 + 0.5 + 0.9) / 3)
    assert froc_score(np.zeros(0), np.zeros(0)) == 0.0


def test_nfps_clamps_at_zero():
    scores = np.full(150, 0.9)
    assert normal_fps(scores, 1, 0.5) == 0.0
    assert normal_fps(scores, 2, 0.5) == 25.0
    assert normal_fps(scores, 2, 0.95) == 100.0
    assert math.isnan(normal_fps(scores, 0, 0.5))


def test_undefined_measures_are_nan_and_r_t_recall_need_removed_boxes():
    p2 = hand_made_images()[1]
    metrics = summarize_matches(match_images([p2]), score_thr=0.5)
    assert metrics['recall'] == 0.0 and metrics['precision'] == 0.0
    assert math.isnan(metrics['nfps']) and math.isnan(metrics['froc'])
    assert 'r_recall' not in metrics and 't_recall' not in metrics
    metrics = summarize_matches(match_images([p2]), score_thr=0.6)
    assert math.isnan(metrics['precision'])


def test_removed_recall_at_false_positives_per_positive_image():
    # One positive image: FP 0.9, FP 0.8, removed box(40) 0.7, FP 0.6, removed box(60) 0.5,
    # kept box(0) 0.95 (neither a false positive nor a removed box).
    image = ImageDetections(
        bboxes=np.array([box(100), box(120), box(40), box(140), box(60), box(0)]),
        scores=np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.95]),
        gt_bboxes=np.array([box(0)]), removed_bboxes=np.array([box(40), box(60)]))
    matched = match_images([image])
    # 1 FP per image only at t = 0.9 (no removed box yet); 2 at t = 0.7 (one of two); 3 at 0.5.
    np.testing.assert_allclose(removed_recall_at_fps(matched, (1, 2, 8)), [0.0, 0.5, 1.0])
    metrics = summarize_matches(matched, score_thr=0.99)
    assert metrics['r_recall'] == 0.0  # nothing reaches the operating threshold...
    assert metrics['r_recall@8fp'] == 1.0  # ...but the ranking finds both removed cells
    # Threshold-free: a strictly increasing map of the scores changes nothing.
    squashed = ImageDetections(bboxes=image.bboxes, scores=image.scores ** 8 / 100,
                               gt_bboxes=image.gt_bboxes, removed_bboxes=image.removed_bboxes)
    np.testing.assert_array_equal(removed_recall_at_fps(match_images([squashed]), (1, 2, 8)),
                                  [0.0, 0.5, 1.0])
    assert np.isnan(removed_recall_at_fps(match_images(hand_made_images()[1:2]))).all()
