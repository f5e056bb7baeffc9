"""Stitch the predictions of the tiles of one whole image back together."""
from typing import Sequence, Tuple

import numpy as np
import torch
from mmcv.ops import nms


def merge_tile_predictions(bboxes: Sequence[np.ndarray], scores: Sequence[np.ndarray],
                           origins: Sequence[Tuple[float, float]],
                           nms_iou_thr: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """Shift tile predictions into source-image coordinates and merge them by NMS.

    Neighbouring tiles overlap, so a cell in the overlap is detected once per tile; NMS over
    the union keeps one of those duplicates. A single sample (a whole image) is returned as
    predicted: NMS is the detector's job, repeating it would change its output.

    Args:
        bboxes (Sequence[np.ndarray]): Per tile, (N_i, 4) xyxy boxes in tile coordinates.
        scores (Sequence[np.ndarray]): Per tile, (N_i,) scores.
        origins (Sequence[Tuple[float, float]]): Per tile, its top-left (x, y) in the source
            image.
        nms_iou_thr (float): IoU above which the lower-scored of two boxes is dropped.
            Defaults to 0.5.

    Returns:
        Tuple[np.ndarray, np.ndarray]: Merged (M, 4) float32 boxes and (M,) float32 scores,
        by descending score when NMS ran.
    """
    if not len(bboxes) == len(scores) == len(origins) > 0:
        raise ValueError('merge_tile_predictions needs one (bboxes, scores, origin) per tile, '
                         f'got {len(bboxes)}, {len(scores)}, {len(origins)}')
    shifted = [np.asarray(b, np.float32).reshape(-1, 4) + np.tile(np.asarray(o, np.float32), 2)
               for b, o in zip(bboxes, origins)]
    all_bboxes = np.concatenate(shifted)
    all_scores = np.concatenate([np.asarray(s, np.float32).reshape(-1) for s in scores])
    if len(all_bboxes) != len(all_scores):
        raise ValueError(f'{len(all_bboxes)} boxes but {len(all_scores)} scores over the tiles')
    if len(bboxes) == 1 or len(all_bboxes) == 0:
        return all_bboxes, all_scores
    dets, _ = nms(torch.from_numpy(all_bboxes), torch.from_numpy(all_scores), nms_iou_thr)
    dets = dets.numpy()
    return np.ascontiguousarray(dets[:, :4]), np.ascontiguousarray(dets[:, 4])
