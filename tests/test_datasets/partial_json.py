"""Hand-made COCO / LVIS json files and images for the partial-annotation dataset tests."""
import json
from pathlib import Path
from typing import List, Optional, Sequence

import cv2
import numpy as np

META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'partially_annotated',
             'partial_labels')
# Scoped names: the tests build datasets outside a Runner, which would set mmdet's scope.
PIPELINE = [dict(type='mmdet.LoadImageFromFile'),
            dict(type='mmdet.LoadAnnotations', with_bbox=True),
            dict(type='mmdet.PackDetInputs', meta_keys=META_KEYS)]


def box(img_id: int, category_id: int, x: float = 4, y: float = 4, w: float = 10,
        h: float = 10) -> dict:
    """One annotation; ``id`` is filled in by :func:`write_json`."""
    return dict(image_id=img_id, category_id=category_id, bbox=[x, y, w, h], area=w * h,
                iscrowd=0)


def write_json(path: Path, categories: Sequence[tuple], images: Sequence[dict],
               annotations: Sequence[dict], image_dir: Optional[Path] = None) -> Path:
    """Writes a COCO-structured json; with ``image_dir``, a 32 x 32 JPEG per ``file_name``.

    Args:
        path: The json path.
        categories: ``(id, name)`` pairs, in file order.
        images: ``images`` entries without height/width (32 x 32 is added).
        annotations: ``annotations`` entries without ``id``.
        image_dir: Folder of the images to write.
    """
    anns: List[dict] = [dict(ann, id=i) for i, ann in enumerate(annotations, 1)]
    imgs = [dict(img, height=32, width=32) for img in images]
    path.write_text(json.dumps(dict(
        images=imgs, annotations=anns,
        categories=[dict(id=i, name=n) for i, n in categories])))
    if image_dir is not None:
        image_dir.mkdir(parents=True, exist_ok=True)
        for img in imgs:
            cv2.imwrite(str(image_dir / img['file_name']), np.full((32, 32, 3), 128, np.uint8))
    return path
