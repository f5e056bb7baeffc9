"""Shared fixtures. Sub-folders keep their own conftest.py for fixtures only they use."""
import json
import os
from pathlib import Path
from typing import Callable, List, Optional

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope='session')
def digestpath_root() -> Path:
    """The real DigestPath2019 copy named by DIGESTPATH_ROOT; skips the test when absent."""
    root = os.environ.get('DIGESTPATH_ROOT')
    if not root:
        pytest.skip('DIGESTPATH_ROOT is not set: real DigestPath2019 data is not available')
    if not Path(root).is_dir():
        pytest.skip(f'DIGESTPATH_ROOT={root} is not a folder')
    return Path(root)


def write_tiny_coco(root: Path, num_images: int = 4, size: int = 128,
                    image_fields: Optional[List[dict]] = None, seed: int = 0) -> Path:
    """A COCO-format dataset of random images, two boxes each (categories 'person', 'car').

    Args:
        root (Path): Folder to write ``images/*.png`` and ``annotations.json`` into.
        num_images (int): Number of images.
        size (int): Side of the square images.
        image_fields (list[dict], optional): Extra fields of each json image entry.
        seed (int): Seed of the pixels.

    Returns:
        Path: The json file.
    """
    rng = np.random.default_rng(seed)
    (root / 'images').mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for index in range(num_images):
        name = f'{index:03d}.png'
        cv2.imwrite(str(root / 'images' / name),
                    rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        extra = image_fields[index] if image_fields else {}
        images.append(dict(id=index + 1, file_name=name, height=size, width=size, **extra))
        for number, (x, y, w, h, cat) in enumerate([(8, 10, 48, 40, 1), (60, 56, 50, 60, 3)]):
            annotations.append(dict(id=2 * index + number + 1, image_id=index + 1,
                                    category_id=cat, bbox=[x, y, w, h], area=w * h,
                                    iscrowd=0, segmentation=[[x, y, x + w, y, x + w, y + h,
                                                              x, y + h]]))
    categories = [dict(id=1, name='person'), dict(id=3, name='car')]
    path = root / 'annotations.json'
    path.write_text(json.dumps(dict(images=images, annotations=annotations,
                                    categories=categories)))
    return path


@pytest.fixture
def tiny_coco(tmp_path) -> Callable[..., Path]:
    """:func:`write_tiny_coco` into a fresh folder under ``tmp_path`` (keyword arguments)."""
    return lambda **kwargs: write_tiny_coco(tmp_path / 'coco', **kwargs)
