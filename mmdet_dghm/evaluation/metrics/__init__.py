from .digestpath_eval import (FROC_FPS, ImageDetections, MatchedDetections, bbox_iou_matrix,
                              froc_curve, froc_score, greedy_match, match_images, normal_fps,
                              precision_at, recall_at, summarize_matches)
from .digestpath_metric import DigestPathMetric

__all__ = [
    'FROC_FPS', 'ImageDetections', 'MatchedDetections', 'bbox_iou_matrix', 'froc_curve',
    'froc_score', 'greedy_match', 'match_images', 'normal_fps', 'precision_at', 'recall_at',
    'summarize_matches', 'DigestPathMetric'
]
