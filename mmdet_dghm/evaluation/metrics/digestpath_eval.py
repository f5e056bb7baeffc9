"""DigestPath2019 detection measures as pure numpy functions.

Paper section 4.3: instance-level recall (eq. 13) and precision (eq. 14) at IoU 0.3 over the
positive (annotated) images, NFPs (eq. 15) from the predictions on normal images, FROC (eq. 16)
as the mean recall at fixed numbers of false positives per normal image, and section 4.6's
R-recall / T-recall on the removed / kept boxes of a controlled missing rate.

Every prediction on a normal image is a false positive (normal images contain no signet ring
cells), so the false-positive rate of the FROC sweep is the mean number of predictions per
normal image, not the FPs of the annotated images, whose annotation is only partial.
"""
from dataclasses import dataclass, field
from typing import Dict, Sequence, Tuple

import numpy as np

FROC_FPS: Tuple[float, ...] = (1, 2, 4, 8, 16, 32)
#: False-positive rates of the threshold-free recalls reported beside FROC.
RECALL_FPS: Tuple[float, ...] = (1, 8)


def removed_recall_key(fp: float) -> str:
    """Name of the removed boxes' recall at ``fp`` false positives per image in the results
    of :func:`summarize_matches` (``r_recall@8fp`` for 8)."""
    return f'r_recall@{fp:g}fp'


# Labels of ``ImageMatches.kinds``: what each prediction of a positive image was matched to.
FALSE_POSITIVE, TP_KEPT, TP_REMOVED = 0, 1, 2


def _as_boxes(boxes: np.ndarray, name: str) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'{name} must have shape (N, 4) (x1, y1, x2, y2), got {boxes.shape}')
    return boxes


def bbox_iou_matrix(bboxes1: np.ndarray, bboxes2: np.ndarray) -> np.ndarray:
    """Intersection over union of every pair of two sets of xyxy boxes.

    Continuous pixel convention (width = x2 - x1), as mmdet 3.x; a pair whose union is empty
    has IoU 0.

    Args:
        bboxes1 (np.ndarray): (N, 4) boxes.
        bboxes2 (np.ndarray): (M, 4) boxes.

    Returns:
        np.ndarray: (N, M) float64 IoU matrix.
    """
    b1 = _as_boxes(bboxes1, 'bboxes1')
    b2 = _as_boxes(bboxes2, 'bboxes2')
    area1 = (b1[:, 2] - b1[:, 0]).clip(min=0) * (b1[:, 3] - b1[:, 1]).clip(min=0)
    area2 = (b2[:, 2] - b2[:, 0]).clip(min=0) * (b2[:, 3] - b2[:, 1]).clip(min=0)
    left_top = np.maximum(b1[:, None, :2], b2[None, :, :2])
    right_bottom = np.minimum(b1[:, None, 2:], b2[None, :, 2:])
    wh = (right_bottom - left_top).clip(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def greedy_match(bboxes: np.ndarray, scores: np.ndarray, gt_bboxes: np.ndarray,
                 iou_thr: float = 0.3) -> np.ndarray:
    """Match the predictions of one image to its ground truth, as the DigestPath challenge.

    Predictions are visited in descending score order (ties in input order); each one takes
    the still unmatched ground-truth box of highest IoU if that IoU is >= ``iou_thr``, and is a
    false positive otherwise (a duplicate of an already matched cell included). Because the
    predictions above any score threshold form a prefix of this order, the true positives at
    threshold ``s`` are exactly the matched predictions with score >= ``s``: one pass serves
    the whole FROC sweep (eq. 16).

    Args:
        bboxes (np.ndarray): (N, 4) predicted boxes.
        scores (np.ndarray): (N,) their scores.
        gt_bboxes (np.ndarray): (K, 4) ground-truth boxes.
        iou_thr (float): Lowest IoU of a match, in (0, 1]. Defaults to 0.3.

    Returns:
        np.ndarray: (N,) int64, the index of the ground-truth box each prediction matched
        (in input order), -1 for false positives.
    """
    if not 0 < iou_thr <= 1:
        raise ValueError(f'iou_thr must be in (0, 1], got {iou_thr}')
    bboxes = _as_boxes(bboxes, 'bboxes')
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.shape[0] != bboxes.shape[0]:
        raise ValueError(f'{bboxes.shape[0]} boxes but {scores.shape[0]} scores')
    matched = np.full(bboxes.shape[0], -1, dtype=np.int64)
    order = np.argsort(-scores, kind='stable')
    ious = bbox_iou_matrix(bboxes[order], gt_bboxes)
    # The matching is sequential by nature, but only the few (prediction, box) pairs with
    # IoU >= iou_thr can match: walk those, by prediction rank then IoU descending (ties to
    # the lower box index), and give each prediction its first still free box.
    ranks, boxes = np.nonzero(ious >= iou_thr)
    pair_order = np.lexsort((boxes, -ious[ranks, boxes], ranks))
    taken = np.zeros(ious.shape[1], dtype=bool)
    last_matched_rank = -1
    for rank, gt_index in zip(ranks[pair_order].tolist(), boxes[pair_order].tolist()):
        if rank != last_matched_rank and not taken[gt_index]:
            taken[gt_index] = True
            matched[order[rank]] = gt_index
            last_matched_rank = rank
    return matched


@dataclass
class ImageDetections:
    """Merged predictions and ground truth of one whole image.

    Attributes:
        bboxes (np.ndarray): (N, 4) predicted boxes, source-image coordinates.
        scores (np.ndarray): (N,) scores.
        gt_bboxes (np.ndarray): (K, 4) annotated (kept) boxes.
        removed_bboxes (np.ndarray): (R, 4) boxes removed by a controlled missing rate.
        partially_annotated (bool): True for images of the positive folders.
    """
    bboxes: np.ndarray
    scores: np.ndarray
    gt_bboxes: np.ndarray
    removed_bboxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    partially_annotated: bool = True

    @property
    def num_gt(self) -> int:
        return len(self.gt_bboxes) + len(self.removed_bboxes)

    @property
    def is_positive(self) -> bool:
        """An image with boxes: its predictions are matched (eq. 13, 14)."""
        return self.num_gt > 0

    @property
    def is_normal(self) -> bool:
        """An exhaustively annotated image without cells: all its predictions are FPs (eq. 15)."""
        return not self.partially_annotated and self.num_gt == 0


@dataclass
class MatchedDetections:
    """Predictions of all images, pooled, each labelled by what it matched.

    Attributes:
        pos_scores (np.ndarray): (P,) scores of the predictions on positive images.
        pos_kinds (np.ndarray): (P,) FALSE_POSITIVE, TP_KEPT or TP_REMOVED.
        num_kept (int): Kept ground-truth boxes over the positive images.
        num_removed (int): Removed ground-truth boxes over the positive images.
        normal_scores (np.ndarray): (Q,) scores of the predictions on normal images.
        num_pos_images (int): Positive images.
        num_normal_images (int): Normal images.
    """
    pos_scores: np.ndarray
    pos_kinds: np.ndarray
    num_kept: int
    num_removed: int
    normal_scores: np.ndarray
    num_pos_images: int
    num_normal_images: int

    @property
    def num_gt(self) -> int:
        return self.num_kept + self.num_removed


def match_images(images: Sequence[ImageDetections], iou_thr: float = 0.3) -> MatchedDetections:
    """Greedily match every positive image against all its boxes (kept and removed).

    Matching against the union means a prediction on a removed cell counts as a true positive
    of recall and of R-recall, never as a false positive.

    Args:
        images (Sequence[ImageDetections]): One entry per whole image.
        iou_thr (float): Lowest IoU of a match. Defaults to 0.3.

    Returns:
        MatchedDetections: The pooled, labelled predictions.
    """
    pos_scores, pos_kinds, normal_scores = [], [], []
    num_kept = num_removed = num_pos = num_normal = 0
    for image in images:
        scores = np.asarray(image.scores, dtype=np.float64).reshape(-1)
        if image.is_positive:
            kept = _as_boxes(image.gt_bboxes, 'gt_bboxes')
            removed = _as_boxes(image.removed_bboxes, 'removed_bboxes')
            matched = greedy_match(image.bboxes, scores, np.concatenate([kept, removed]),
                                   iou_thr)
            kinds = np.where(matched < 0, FALSE_POSITIVE,
                             np.where(matched < len(kept), TP_KEPT, TP_REMOVED))
            pos_scores.append(scores)
            pos_kinds.append(kinds)
            num_kept += len(kept)
            num_removed += len(removed)
            num_pos += 1
        elif image.is_normal:
            normal_scores.append(scores)
            num_normal += 1
    return MatchedDetections(
        pos_scores=np.concatenate(pos_scores) if pos_scores else np.zeros(0),
        pos_kinds=np.concatenate(pos_kinds).astype(np.int64) if pos_kinds else np.zeros(0, int),
        num_kept=num_kept,
        num_removed=num_removed,
        normal_scores=np.concatenate(normal_scores) if normal_scores else np.zeros(0),
        num_pos_images=num_pos,
        num_normal_images=num_normal)


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN when the measure is undefined (nothing to count)."""
    return float(numerator / denominator) if denominator > 0 else float('nan')


def recall_at(scores: np.ndarray, is_tp: np.ndarray, num_gt: int, score_thr: float) -> float:
    """Instance-level recall TP / (TP + FN) at a score threshold (eq. 13).

    Args:
        scores (np.ndarray): (P,) prediction scores of the positive images.
        is_tp (np.ndarray): (P,) bool, the predictions that matched a box of the counted set.
        num_gt (int): Size of the counted set of boxes (TP + FN).
        score_thr (float): Predictions with score >= it count.

    Returns:
        float: Recall; NaN when ``num_gt`` is 0.
    """
    return _ratio(np.count_nonzero(is_tp & (scores >= score_thr)), num_gt)


def precision_at(scores: np.ndarray, is_tp: np.ndarray, score_thr: float) -> float:
    """Precision TP / (TP + FP) at a score threshold over the positive images (eq. 14).

    Args:
        scores (np.ndarray): (P,) prediction scores of the positive images.
        is_tp (np.ndarray): (P,) bool, the matched predictions.
        score_thr (float): Predictions with score >= it count.

    Returns:
        float: Precision; NaN when no prediction reaches ``score_thr``.
    """
    kept = scores >= score_thr
    return _ratio(np.count_nonzero(is_tp & kept), np.count_nonzero(kept))


def normal_fps(normal_scores: np.ndarray, num_normal_images: int, score_thr: float) -> float:
    """NFPs = max(100 - W, 0), W the mean predictions per normal image (eq. 15).

    Args:
        normal_scores (np.ndarray): (Q,) scores of all predictions on normal images.
        num_normal_images (int): Number of normal images.
        score_thr (float): Predictions with score >= it count.

    Returns:
        float: NFPs; NaN without normal images.
    """
    if num_normal_images <= 0:
        return float('nan')
    mean_fps = np.count_nonzero(normal_scores >= score_thr) / num_normal_images
    return float(max(100.0 - mean_fps, 0.0))


def froc_curve(pos_scores: np.ndarray, is_tp: np.ndarray, num_gt: int,
               normal_scores: np.ndarray,
               num_normal_images: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recall and NRFP at every distinct score threshold (the curve behind eq. 16).

    A threshold ``t`` keeps every prediction with score >= ``t`` (tied scores enter together).
    By the prefix property of :func:`greedy_match`, the true positives at ``t`` are the matched
    predictions with score >= ``t``, so cumulative counts give the whole sweep at once.

    Args:
        pos_scores (np.ndarray): (P,) scores of the predictions on positive images.
        is_tp (np.ndarray): (P,) bool, the matched ones.
        num_gt (int): Ground-truth boxes over the positive images (> 0).
        normal_scores (np.ndarray): (Q,) scores of the predictions on normal images.
        num_normal_images (int): Normal images (> 0).

    Returns:
        Tuple[np.ndarray, np.ndarray, np.ndarray]: ``thresholds`` (T,) ascending distinct
        scores, and at each the ``nrfp`` (T,) mean predictions per normal image and the
        ``recall`` (T,).
    """
    if num_gt <= 0 or num_normal_images <= 0:
        raise ValueError('the FROC curve needs ground-truth boxes and normal images, got '
                         f'num_gt={num_gt}, num_normal_images={num_normal_images}')
    thresholds = np.unique(np.concatenate([pos_scores, normal_scores]))
    tp_scores = np.sort(pos_scores[is_tp])
    fp_scores = np.sort(normal_scores)
    # Count of scores >= t = total - count of scores < t.
    num_tp = len(tp_scores) - np.searchsorted(tp_scores, thresholds, side='left')
    num_fp = len(fp_scores) - np.searchsorted(fp_scores, thresholds, side='left')
    return thresholds, num_fp / num_normal_images, num_tp / num_gt


def recall_at_fps(nrfp: np.ndarray, recall: np.ndarray,
                  fps: Sequence[float] = FROC_FPS) -> np.ndarray:
    """Highest recall whose NRFP <= f, for every f in ``fps`` (the points of eq. 16).

    Threshold-free: only the ranking of the scores matters, so any strictly increasing map of
    the scores leaves these recalls unchanged.

    Args:
        nrfp (np.ndarray): (T,) mean predictions per normal image at each threshold.
        recall (np.ndarray): (T,) recall at the same thresholds.
        fps (Sequence[float]): False-positive rates. Defaults to (1, 2, 4, 8, 16, 32).

    Returns:
        np.ndarray: (len(fps),) recalls; a rate no threshold reaches gives 0.
    """
    allowed = nrfp[None, :] <= np.asarray(fps, dtype=np.float64)[:, None]
    return np.where(allowed, recall[None, :], 0.0).max(axis=1, initial=0.0)


def froc_score(nrfp: np.ndarray, recall: np.ndarray,
               fps: Sequence[float] = FROC_FPS) -> float:
    """FROC: mean over f in ``fps`` of the highest recall whose NRFP <= f (eq. 16).

    Args:
        nrfp (np.ndarray): (T,) mean predictions per normal image at each threshold.
        recall (np.ndarray): (T,) recall at the same thresholds.
        fps (Sequence[float]): The false-positive rates averaged over. Defaults to
            (1, 2, 4, 8, 16, 32) as the challenge.

    Returns:
        float: FROC; a rate no threshold reaches contributes 0.
    """
    return float(recall_at_fps(nrfp, recall, fps).mean())


def froc_complete(nrfp: np.ndarray, fps: Sequence[float] = FROC_FPS) -> bool:
    """Whether the curve reaches the largest false-positive rate of ``fps``.

    The lowest threshold of the sweep is the lowest score that reached the metric, so its NRFP
    is the most predictions per normal image the curve can show. Below ``max(fps)`` the
    points beyond it are cut off by the model's output (a test-time score threshold or a cap on
    the detections per image), not by the ranking, and FROC is underestimated.

    Args:
        nrfp (np.ndarray): (T,) mean predictions per normal image at each threshold.
        fps (Sequence[float]): False-positive rates. Defaults to (1, 2, 4, 8, 16, 32).

    Returns:
        bool: max(nrfp) >= max(fps).
    """
    return bool(nrfp.max(initial=0.0) >= max(fps))


def removed_recall_at_fps(matched: MatchedDetections,
                          fps: Sequence[float] = RECALL_FPS) -> np.ndarray:
    """R-recall without a score threshold: the removed boxes' recall at f false positives per
    positive image, for every f in ``fps``.

    R-recall at a fixed threshold (section 4.6) says nothing about a model whose scores all
    lie below it. Here the threshold of each point is set by the model's own ranking, as in
    FROC (eq. 16), with the false positives counted on the positive images themselves: the
    predictions that match neither a kept nor a removed box, divided by the number of
    positive images. Where the source annotation is itself partial (real DigestPath), some of
    those are unannotated cells; every loss is measured against the same boxes.

    Args:
        matched (MatchedDetections): The output of :func:`match_images`, with removed boxes.
        fps (Sequence[float]): False positives per positive image. Defaults to (1, 8).

    Returns:
        np.ndarray: (len(fps),) recalls of the removed boxes; NaN without removed boxes.
    """
    if matched.num_removed <= 0 or matched.num_pos_images <= 0:
        return np.full(len(fps), np.nan)
    scores, kinds = matched.pos_scores, matched.pos_kinds
    _, fp_rate, recall = froc_curve(scores, kinds == TP_REMOVED, matched.num_removed,
                                    scores[kinds == FALSE_POSITIVE], matched.num_pos_images)
    return recall_at_fps(fp_rate, recall, fps)


def summarize_matches(matched: MatchedDetections, score_thr: float = 0.5,
                      froc_fps: Sequence[float] = FROC_FPS,
                      recall_fps: Sequence[float] = RECALL_FPS) -> Dict[str, float]:
    """All DigestPath measures of a set of matched whole images.

    Args:
        matched (MatchedDetections): The output of :func:`match_images`.
        score_thr (float): Threshold of recall, precision and NFPs. Defaults to 0.5.
        froc_fps (Sequence[float]): FROC's false-positive rates. Defaults to (1, ..., 32).
        recall_fps (Sequence[float]): Rates of the threshold-free recalls. Defaults to (1, 8).

    Returns:
        Dict[str, float]: ``recall`` (eq. 13, all boxes: kept + removed), ``precision``
        (eq. 14), ``nfps`` (eq. 15) at ``score_thr``, ``froc`` (eq. 16), ``froc_complete``
        (1.0 when the curve reaches ``max(froc_fps)``, see :func:`froc_complete`),
        ``recall@<f>fp`` for f in ``recall_fps`` (recall at f predictions per normal image,
        whatever the threshold), ``num_pos_images``,
        ``num_normal_images``, and when removed boxes exist ``r_recall`` (removed boxes) and
        ``t_recall`` (kept boxes) at ``score_thr`` and ``r_recall@<f>fp`` for f in
        ``recall_fps`` (see :func:`removed_recall_at_fps`). Undefined measures are NaN
        (recall, precision without positive images or predictions; nfps, froc without normal
        images).
    """
    scores, kinds = matched.pos_scores, matched.pos_kinds
    is_tp = kinds != FALSE_POSITIVE
    results = dict(
        recall=recall_at(scores, is_tp, matched.num_gt, score_thr),
        precision=precision_at(scores, is_tp, score_thr),
        nfps=normal_fps(matched.normal_scores, matched.num_normal_images, score_thr),
        froc=float('nan'),
        froc_complete=float('nan'))
    results.update({f'recall@{f:g}fp': float('nan') for f in recall_fps})
    if matched.num_gt > 0 and matched.num_normal_images > 0:
        _, nrfp, recall = froc_curve(scores, is_tp, matched.num_gt, matched.normal_scores,
                                     matched.num_normal_images)
        results['froc'] = froc_score(nrfp, recall, froc_fps)
        results['froc_complete'] = float(froc_complete(nrfp, froc_fps))
        results.update({f'recall@{f:g}fp': float(r) for f, r in
                        zip(recall_fps, recall_at_fps(nrfp, recall, recall_fps))})
    if matched.num_removed > 0:
        results['r_recall'] = recall_at(scores, kinds == TP_REMOVED, matched.num_removed,
                                        score_thr)
        results['t_recall'] = recall_at(scores, kinds == TP_KEPT, matched.num_kept, score_thr)
        results.update({removed_recall_key(f): float(r) for f, r in
                        zip(recall_fps, removed_recall_at_fps(matched, recall_fps))})
    results['num_pos_images'] = matched.num_pos_images
    results['num_normal_images'] = matched.num_normal_images
    return results
