from .exporters import (OverviewCanvas, draw_overlay, export_detections, geojson_features,
                        write_csv, write_geojson, write_json)
from .inference import (Detections, TiledDetector, build_detector, checkpoint_mismatch,
                        detect_large_image, load_checkpoint_strict)
from .resolution import (MAX_RESAMPLING, Resolution, model_pixel_size, plan_resolution,
                         resampled_view)

__all__ = [
    'Detections', 'TiledDetector', 'build_detector', 'checkpoint_mismatch', 'detect_large_image',
    'load_checkpoint_strict', 'OverviewCanvas', 'draw_overlay', 'export_detections',
    'geojson_features', 'write_csv', 'write_geojson', 'write_json', 'MAX_RESAMPLING',
    'Resolution', 'model_pixel_size', 'plan_resolution', 'resampled_view'
]
