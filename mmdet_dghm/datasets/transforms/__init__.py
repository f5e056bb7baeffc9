from .load_tile import LoadDigestPathTile
from .random_rot90 import RandomRot90, rot90_boxes, rot90_image
from .random_tile_crop import RandomTileCrop

__all__ = ['LoadDigestPathTile', 'RandomRot90', 'RandomTileCrop', 'rot90_boxes', 'rot90_image']
