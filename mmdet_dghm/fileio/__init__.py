from .image_readers import (FILE_EXTENSIONS, IMAGE_EXTENSIONS, ImageReader, OpenSlideReader,
                            PathLike, RasterReader, TiffReader, list_images, open_image,
                            read_image_size, read_scaled_image, scaled_size)

__all__ = [
    'FILE_EXTENSIONS', 'IMAGE_EXTENSIONS', 'ImageReader', 'OpenSlideReader', 'PathLike',
    'RasterReader', 'TiffReader', 'list_images', 'open_image', 'read_image_size',
    'read_scaled_image', 'scaled_size'
]
