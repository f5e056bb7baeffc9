from .windows import (box_areas, clip_boxes_to_windows, greedy_nmm, intersection_over_smaller,
                      merge_tile_predictions, sliding_windows, split_visible, window_starts)

__all__ = [
    'box_areas', 'clip_boxes_to_windows', 'greedy_nmm', 'intersection_over_smaller',
    'merge_tile_predictions', 'sliding_windows', 'split_visible', 'window_starts'
]
