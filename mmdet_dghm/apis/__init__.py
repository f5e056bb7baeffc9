from .cohort import (
                     MARKER_SUFFIX,
                     SUMMARY_NAME,
                     SlideSummary,
                     collect_summary,
                     finished_summary,
                     format_row,
                     format_summary,
                     plan_cohort,
                     run_cohort,
                     run_slide,
                     write_summary,
)
from .distributed import LAUNCHERS, init_distributed, local_device
from .exporters import (
                     class_colors,
                     draw_class_heatmaps,
                     draw_heatmap,
                     draw_overlay,
                     draw_overlay_with_legend,
                     export_detections,
                     geojson_features,
                     write_csv,
                     write_geojson,
                     write_json,
)
from .inference import (
                     Detections,
                     TiledDetector,
                     build_detector,
                     checkpoint_mismatch,
                     config_dataset_meta,
                     half_precision_features,
                     load_checkpoint_strict,
)
from .resolution import (
                     MAX_RESAMPLING,
                     Resolution,
                     model_pixel_size,
                     plan_resolution,
                     resampled_view,
)
from .sharding import balanced_shards, shard_loads
from .slide_layout import find_slides, input_root, output_keys
from .tissue_mask import TissueMask, otsu_saturation_threshold
from .window_reading import BatchPrefetcher, shares_reader

__all__ = [
    'Detections', 'TiledDetector', 'half_precision_features', 'build_detector',
    'checkpoint_mismatch', 'config_dataset_meta', 'load_checkpoint_strict', 'class_colors',
    'draw_class_heatmaps',
    'draw_heatmap', 'draw_overlay', 'draw_overlay_with_legend', 'export_detections',
    'geojson_features', 'write_csv', 'write_geojson', 'write_json', 'MAX_RESAMPLING',
    'Resolution', 'model_pixel_size', 'plan_resolution', 'resampled_view', 'MARKER_SUFFIX',
    'SUMMARY_NAME', 'SlideSummary', 'collect_summary', 'finished_summary', 'format_row',
    'format_summary', 'plan_cohort', 'run_cohort', 'run_slide', 'write_summary', 'LAUNCHERS',
    'init_distributed', 'local_device', 'balanced_shards', 'shard_loads', 'find_slides',
    'input_root', 'output_keys', 'TissueMask', 'otsu_saturation_threshold', 'BatchPrefetcher',
    'shares_reader'
]
