from .image_readers import (
                            FILE_EXTENSIONS,
                            IMAGE_EXTENSIONS,
                            ImageLevel,
                            ImageReader,
                            OpenSlideReader,
                            Overview,
                            PathLike,
                            RasterReader,
                            ResampledReader,
                            TiffReader,
                            list_images,
                            open_image,
                            pixel_size_from_xy,
                            read_image_size,
                            read_scaled_image,
                            scaled_size,
                            tiff_pixel_size,
)

__all__ = [
    'FILE_EXTENSIONS', 'IMAGE_EXTENSIONS', 'ImageLevel', 'ImageReader', 'OpenSlideReader',
    'Overview', 'PathLike', 'RasterReader', 'ResampledReader', 'TiffReader', 'list_images',
    'open_image', 'pixel_size_from_xy', 'read_image_size', 'read_scaled_image', 'scaled_size',
    'tiff_pixel_size'
]
