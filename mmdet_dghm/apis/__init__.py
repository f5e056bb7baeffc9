from .cohort import (
                     SlideSummary,
                     finished_summary,
                     format_summary,
                     run_cohort,
                     run_slide,
                     write_summary,
)
from .exporters import (
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
                     load_checkpoint_strict,
)
from .resolution import (
                     MAX_RESAMPLING,
                     Resolution,
                     model_pixel_size,
                     plan_resolution,
                     resampled_view,
)
from .tissue_mask import TissueMask, otsu_saturation_threshold

__all__ = [
    'Detections', 'TiledDetector', 'build_detector', 'checkpoint_mismatch', 'config_dataset_meta',
    'load_checkpoint_strict', 'draw_heatmap', 'draw_overlay',
    'draw_overlay_with_legend', 'export_detections', 'geojson_features', 'write_csv',
    'write_geojson', 'write_json', 'MAX_RESAMPLING', 'Resolution', 'model_pixel_size',
    'plan_resolution', 'resampled_view', 'SlideSummary', 'finished_summary', 'format_summary',
    'run_cohort', 'run_slide', 'write_summary', 'TissueMask', 'otsu_saturation_threshold'
]
