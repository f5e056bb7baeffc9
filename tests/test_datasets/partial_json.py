"""Hand-made COCO / LVIS json files and images for the partial-annotation dataset tests."""
import json
from pathlib import Path
from typing import List, Optional, Sequence

import cv2
import numpy as np

META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'partially_annotated',
             'partial_labels')
# Outside a Runner the tests set mmdet's default scope themselves before building it.
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
            dict(type='PackDetInputs', meta_keys=META_KEYS)]


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


def union_sources(tmp_path: Path) -> list:
    """Source A boxes cats (id 10); source B dogs (id 7) and birds (id 5), in that order."""
    img = tmp_path / 'img'
    a = write_json(tmp_path / 'a.json', [(10, 'cat')],
                   [dict(id=1, file_name='a1.jpg'), dict(id=2, file_name='a2.jpg',
                                                          partially_annotated=True)],
                   [box(1, 10)], img)
    b = write_json(tmp_path / 'b.json', [(7, 'dog'), (5, 'bird')],
                   [dict(id=1, file_name='b1.jpg', partial_category_ids=[5])],
                   [box(1, 7), box(1, 5, x=15)], img)
    return [dict(type='PartialCocoDataset', ann_file=str(a), data_prefix=dict(img=str(img)),
                 metainfo=dict(classes=('cat', ))),
            dict(type='PartialCocoDataset', ann_file=str(b), data_prefix=dict(img=str(img)),
                 metainfo=dict(classes=('dog', 'bird')))]
