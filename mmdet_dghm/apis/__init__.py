from .exporters import (OverviewCanvas, draw_overlay, export_detections, geojson_features,
                        write_csv, write_geojson, write_json)
from .inference import (Detections, TiledDetector, build_detector, checkpoint_mismatch,
                        detect_large_image, load_checkpoint_strict)

__all__ = [
    'Detections', 'TiledDetector', 'build_detector', 'checkpoint_mismatch', 'detect_large_image',
    'load_checkpoint_strict', 'OverviewCanvas', 'draw_overlay', 'export_detections',
    'geojson_features', 'write_csv', 'write_geojson', 'write_json'
]
