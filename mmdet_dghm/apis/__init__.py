from .exporters import (OverviewCanvas, draw_overlay, export_detections, geojson_features,
                        write_csv, write_geojson, write_json)
from .inference import (Detections, TiledDetector, build_detector, checkpoint_mismatch,
                        detect_large_image, load_checkpoint_strict)
from .readers import (ImageReader, OpenSlideReader, RasterReader, TiffReader, list_images,
                      open_image)

__all__ = [
    'Detections', 'TiledDetector', 'build_detector', 'checkpoint_mismatch', 'detect_large_image',
    'load_checkpoint_strict', 'ImageReader', 'OpenSlideReader', 'RasterReader', 'TiffReader',
    'list_images', 'open_image', 'OverviewCanvas', 'draw_overlay', 'export_detections',
    'geojson_features', 'write_csv', 'write_geojson', 'write_json'
]
