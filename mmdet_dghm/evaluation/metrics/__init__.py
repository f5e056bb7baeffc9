from .digestpath_eval import (
                              FROC_FPS,
                              RECALL_FPS,
                              ImageDetections,
                              MatchedDetections,
                              bbox_iou_matrix,
                              froc_complete,
                              froc_curve,
                              froc_score,
                              greedy_match,
                              match_images,
                              normal_fps,
                              precision_at,
                              recall_at,
                              recall_at_fps,
                              removed_recall_at_fps,
                              removed_recall_key,
                              summarize_matches,
)
from .digestpath_metric import DigestPathMetric

__all__ = [
    'FROC_FPS', 'RECALL_FPS', 'ImageDetections', 'MatchedDetections', 'bbox_iou_matrix',
    'froc_complete', 'froc_curve', 'froc_score', 'greedy_match', 'match_images', 'normal_fps',
    'precision_at', 'recall_at', 'recall_at_fps', 'removed_recall_at_fps',
    'removed_recall_key', 'summarize_matches', 'DigestPathMetric'
]
