"""Random crop of a tile that keeps crops without boxes (paper Sec. 4.2: 600 of 800)."""
from typing import Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes

from ...structures import clip_boxes_to_windows, split_visible


@TRANSFORMS.register_module()
class RandomTileCrop(BaseTransform):
    """Crop a random ``crop_size`` window of the tile, never rejecting it.

    mmdet's ``RandomCrop`` returns ``None`` for a crop without boxes unless
    ``allow_negative_crop=True``, which would silently drop every negative tile; and it keeps
    any clipped sliver as ground truth. This crop keeps empty crops, and applies the dataset's
    rule to boxes cut by the crop border: ground truth when at least ``min_visible`` of the
    box's (tile-clipped) area remains, ignored (``gt_ignore_flags``) when a smaller sliver
    remains, removed when nothing remains. Boxes already ignored stay ignored. ``tile_origin``
    moves with the crop so it still names the top-left in source coordinates.

    Required keys: ``img``; optional ``gt_bboxes``, ``gt_bboxes_labels``, ``gt_ignore_flags``,
    ``tile_origin``. Modified keys: those and ``img_shape``.

    Args:
        crop_size (int | tuple[int, int]): Crop ``(width, height)``, or one int for a square;
            clamped to the image. Defaults to 600.
        min_visible (float): Visible fraction that keeps a box ground truth. Defaults to 0.5.
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]] = 600,
                 min_visible: float = 0.5) -> None:
        crop_w, crop_h = (crop_size, crop_size) if isinstance(crop_size, int) else crop_size
        if crop_w <= 0 or crop_h <= 0:
            raise ValueError(f'crop_size={crop_size} must be positive')
        if not 0 < min_visible <= 1:
            raise ValueError(f'min_visible={min_visible} must be in (0, 1]')
        self.crop_size = (int(crop_w), int(crop_h))
        self.min_visible = min_visible

    @cache_randomness
    def _offset(self, margin_w: int, margin_h: int) -> Tuple[int, int]:
        return int(np.random.randint(0, margin_w + 1)), int(np.random.randint(0, margin_h + 1))

    def transform(self, results: dict) -> dict:
        img = results['img']
        height, width = img.shape[:2]
        crop_w, crop_h = min(self.crop_size[0], width), min(self.crop_size[1], height)
        x, y = self._offset(width - crop_w, height - crop_h)
        results['img'] = img[y:y + crop_h, x:x + crop_w]
        results['img_shape'] = (crop_h, crop_w)
        if 'tile_origin' in results:
            results['tile_origin'] = (results['tile_origin'][0] + x,
                                      results['tile_origin'][1] + y)
        if results.get('gt_bboxes') is not None:
            self._crop_boxes(results, np.array([x, y, x + crop_w, y + crop_h]))
        return results

    def _crop_boxes(self, results: dict, window: np.ndarray) -> None:
        boxes = results['gt_bboxes']
        clipped, visible = clip_boxes_to_windows(boxes.numpy(), window[None])
        present, ignored = split_visible(visible[0], self.min_visible)
        results['gt_bboxes'] = HorizontalBoxes(clipped[0][present], dtype=boxes.dtype)
        if results.get('gt_bboxes_labels') is not None:
            results['gt_bboxes_labels'] = results['gt_bboxes_labels'][present]
        old_ignored = results.get('gt_ignore_flags')
        if old_ignored is None:
            old_ignored = np.zeros(len(present), dtype=bool)
        results['gt_ignore_flags'] = old_ignored[present] | ignored[present]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'min_visible={self.min_visible})')
