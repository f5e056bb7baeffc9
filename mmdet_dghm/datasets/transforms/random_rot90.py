"""Rotation by multiples of 90 degrees (paper Sec. 4.2 augmentation)."""
from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes


def rot90_boxes(boxes: np.ndarray, img_shape: Tuple[int, int], k: int) -> np.ndarray:
    """Boxes after rotating their image ``k`` quarter turns counter-clockwise (``np.rot90``).

    One turn maps a point ``(x, y)`` of an image of width ``w`` to ``(y, w - x)`` (continuous
    pixel-edge coordinates), so a box ``(x1, y1, x2, y2)`` becomes ``(y1, w - x2, y2, w - x1)``
    and the image's height and width swap.

    Args:
        boxes (np.ndarray): ``(K, 4)`` xyxy boxes.
        img_shape (tuple[int, int]): ``(height, width)`` before rotation.
        k (int): Quarter turns; any integer (taken modulo 4).

    Returns:
        np.ndarray: ``(K, 4)`` rotated boxes, same dtype.
    """
    boxes = np.asarray(boxes)
    height, width = img_shape
    for _ in range(k % 4):
        boxes = np.stack([boxes[:, 1], width - boxes[:, 2], boxes[:, 3], width - boxes[:, 0]],
                         axis=1)
        height, width = width, height
    return boxes


def rot90_homography(img_shape: Tuple[int, int], k: int) -> np.ndarray:
    """The 3 x 3 homography of :func:`rot90_boxes`: one turn maps ``(x, y)`` to ``(y, w - x)``.

    Args:
        img_shape (tuple[int, int]): ``(height, width)`` before rotation.
        k (int): Quarter turns; any integer (taken modulo 4).

    Returns:
        np.ndarray: (3, 3) float32, as mmdet's geometric transforms record it.
    """
    height, width = img_shape
    matrix = np.eye(3, dtype=np.float32)
    for _ in range(k % 4):
        turn = np.array([[0, 1, 0], [-1, 0, width], [0, 0, 1]], dtype=np.float32)
        matrix = turn @ matrix
        height, width = width, height
    return matrix


_CV2_TURNS = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180,
              3: cv2.ROTATE_90_CLOCKWISE}


def rot90_image(img: np.ndarray, k: int) -> np.ndarray:
    """``np.rot90(img, k)`` as a contiguous array, via OpenCV (about 30x faster than copying
    numpy's strided view of a 600 px colour tile)."""
    k %= 4
    if k == 0:
        return img
    return cv2.rotate(np.ascontiguousarray(img), _CV2_TURNS[k])


@TRANSFORMS.register_module()
class RandomRot90(BaseTransform):
    """Rotate image and boxes by ``k * 90`` degrees, ``k`` uniform in {0, 1, 2, 3}.

    Histology has no canonical orientation. Together with a horizontal or vertical flip of
    probability 1/4 each (mmdet ``RandomFlip``) every element of the square's symmetry group
    is equally likely. Labels and ignore flags are unchanged (rotation permutes nothing).

    Required keys: ``img``; optional ``gt_bboxes``. Modified keys: ``img``, ``img_shape``,
    ``gt_bboxes``, ``homography_matrix`` (composed as mmdet's geometric transforms do, so a
    teacher's boxes project between views). Added key: ``rot90_k``.
    """

    @cache_randomness
    def _turns(self) -> int:
        return int(np.random.randint(4))

    def transform(self, results: dict) -> dict:
        k = self._turns()
        img = results['img']
        if results.get('gt_bboxes') is not None:
            boxes = results['gt_bboxes']
            results['gt_bboxes'] = HorizontalBoxes(
                rot90_boxes(boxes.numpy(), img.shape[:2], k), dtype=boxes.dtype)
        matrix = rot90_homography(img.shape[:2], k)
        previous = results.get('homography_matrix')
        results['homography_matrix'] = matrix if previous is None else matrix @ previous
        results['img'] = rot90_image(img, k)
        results['img_shape'] = results['img'].shape[:2]
        results['rot90_k'] = k
        return results
