from .boxes import box_areas, intersection_over_smaller
from .merging import ios_nms, merge_tile_predictions
from .pseudo_box_quality import count_removed_hits, pseudo_box_quality
from .pseudo_boxes import PseudoBoxSelection, check_thresholds, select_pseudo_boxes
from .resolution import PIXEL_SIZE_RTOL, check_pixel_size, choose_level, same_pixel_size
from .slicing import (
                      clip_boxes_to_windows,
                      sliding_windows,
                      split_visible,
                      window_cores,
                      window_starts,
)

__all__ = [
    'PIXEL_SIZE_RTOL', 'PseudoBoxSelection', 'box_areas', 'check_pixel_size',
    'check_thresholds', 'choose_level', 'clip_boxes_to_windows', 'intersection_over_smaller',
    'count_removed_hits', 'ios_nms', 'merge_tile_predictions', 'pseudo_box_quality',
    'same_pixel_size', 'select_pseudo_boxes', 'sliding_windows', 'split_visible',
    'window_cores', 'window_starts'
]
