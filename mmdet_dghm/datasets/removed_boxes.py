"""A controlled missing rate written out: the removed boxes of a DigestPath data root.

``DigestPathDataset(drop_rate=m, drop_seed=s)`` removes boxes when it loads the XML files
(paper Sec. 4.6). A data root made from such a dataset (``tools/pseudo_label.py
--materialise-drop``) holds what that dataset yields instead: its XML files carry the kept
boxes only (plus any pseudo-boxes), and ``<data_root>/removed_boxes.json`` lists the boxes the
removal took, so that what was removed stays known (R-recall, the quality of pseudo-boxes)
while nothing is removed twice. The removed boxes live beside the XML, not in it: a VOC reader
that knows nothing of this file (the challenge's tools, mmdet's ``XMLDataset``) then sees the
annotation the model trains on, never the boxes it was denied.

The file::

    {"drop_rate": 0.7, "drop_seed": 0, "source": "/data/digestpath",
     "images": {"NAME.jpeg": [[xmin, ymin, xmax, ymax], ...], ...}}

``images`` has an entry for every positive image of the data root (an empty list where
nothing was removed), keyed by the image's file name (names are unique within a DigestPath
root), boxes as the dataset read them from the XML (clipped to the image, in its own
pixels). ``drop_rate``, ``drop_seed`` and ``source`` say where they come from.
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Union

import numpy as np

__all__ = ['REMOVED_BOXES_FILE', 'RemovedBoxes', 'read_removed_boxes', 'write_removed_boxes']

REMOVED_BOXES_FILE = 'removed_boxes.json'


@dataclass(frozen=True)
class RemovedBoxes:
    """The removal written into a data root.

    Attributes:
        boxes (Dict[str, np.ndarray]): Image file name -> ``(R, 4)`` float32 xyxy boxes in the
            image's pixels.
        drop_rate (float): The missing rate that removed them.
        drop_seed (int): Its seed.
        source (str): The data root whose XML files held them.
    """

    boxes: Dict[str, np.ndarray]
    drop_rate: float
    drop_seed: int
    source: str


def write_removed_boxes(root: Union[str, Path], removed: RemovedBoxes) -> Path:
    """Write ``removed`` to ``<root>/removed_boxes.json``; returns the file."""
    path = Path(root) / REMOVED_BOXES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    record = dict(drop_rate=float(removed.drop_rate), drop_seed=int(removed.drop_seed),
                  source=str(removed.source),
                  images={name: np.asarray(boxes, dtype=np.float32).reshape(-1, 4).tolist()
                          for name, boxes in sorted(removed.boxes.items())})
    path.write_text(json.dumps(record, indent=1))
    return path


def read_removed_boxes(root: Union[str, Path]) -> Optional[RemovedBoxes]:
    """The removal written into ``root``, or None when it has no ``removed_boxes.json``.

    Raises:
        ValueError: Naming the file, when it is not JSON, lacks a key, or has a drop rate
            outside (0, 1], a non-integer seed, or a box that is not four finite numbers
            with ``xmin <= xmax`` and ``ymin <= ymax``.
    """
    path = Path(root) / REMOVED_BOXES_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f'{path}: malformed JSON ({err})') from err
    keys = ('drop_rate', 'drop_seed', 'source', 'images')
    if not isinstance(record, dict) or any(key not in record for key in keys):
        raise ValueError(f'{path}: expected an object with the keys {list(keys)}')
    rate, seed = record['drop_rate'], record['drop_seed']
    if not _is_number(rate) or not 0 < rate <= 1:
        raise ValueError(f'{path}: drop_rate {rate!r} must be a number in (0, 1]')
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f'{path}: drop_seed {seed!r} must be an integer')
    if not isinstance(record['images'], dict):
        raise ValueError(f'{path}: images must map image file names to lists of boxes')
    boxes = {name: _boxes(path, name, value) for name, value in record['images'].items()}
    return RemovedBoxes(boxes=boxes, drop_rate=float(rate), drop_seed=seed,
                        source=str(record['source']))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _boxes(path: Path, name: str, value) -> np.ndarray:
    """``(R, 4)`` float32 boxes of one image's entry, checked."""
    if not isinstance(value, list) or not all(
            isinstance(box, list) and len(box) == 4 and all(map(_is_number, box))
            for box in value):
        raise ValueError(f'{path}: {name}: expected a list of [xmin, ymin, xmax, ymax] '
                         f'lists of numbers, got {value!r}')
    for box in value:
        if not all(map(math.isfinite, box)) or box[0] > box[2] or box[1] > box[3]:
            raise ValueError(f'{path}: {name}: box {box} is not finite with xmin <= xmax and '
                             'ymin <= ymax')
    return np.asarray(value, dtype=np.float32).reshape(-1, 4)
