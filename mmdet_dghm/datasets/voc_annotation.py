"""Pascal-VOC XML annotations of DigestPath positive images, parsed and checked strictly."""
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Tuple

import numpy as np

_BOX_KEYS = ('xmin', 'ymin', 'xmax', 'ymax')
#: The child that marks a teacher's detection written as an object.
PSEUDO_TAG = 'pseudo'


@dataclass(frozen=True)
class VocAnnotation:
    """One parsed VOC file.

    Attributes:
        width (int): ``<size><width>``.
        height (int): ``<size><height>``.
        bboxes (np.ndarray): ``(K, 4)`` float32 xyxy boxes exactly as written (pixel edges).
        labels (np.ndarray): ``(K,)`` int64 class indices into the dataset's classes.
        pseudo (np.ndarray): ``(K,)`` bool, the objects marked ``<pseudo>1</pseudo>`` (a
            teacher's detections written by :func:`add_voc_pseudo_boxes`).
    """

    width: int
    height: int
    bboxes: np.ndarray
    labels: np.ndarray
    pseudo: np.ndarray


def _text(node: ET.Element, tag: str, path: Path, what: str) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise ValueError(f'{path}: {what} has no <{tag}>')
    return child.text.strip()


def parse_voc_xml(path: Path, classes: Sequence[str]) -> VocAnnotation:
    """Parse a VOC XML file, failing loudly on anything the dataset cannot trust.

    Args:
        path (Path): The XML file.
        classes (Sequence[str]): Known class names; the label is the index in it.

    Returns:
        VocAnnotation: Size, boxes and labels.

    Raises:
        ValueError: Naming ``path``, when the XML is malformed, has no ``<size>`` (or a
            non-positive one), a box with a non-numeric coordinate or ``xmin > xmax`` /
            ``ymin > ymax``, an object whose class is not in ``classes``, or a ``<pseudo>``
            other than 0 or 1.
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise ValueError(f'{path}: malformed XML ({err})') from err
    size = root.find('size')
    if size is None:
        raise ValueError(f'{path}: no <size> element; cannot check it against the image')
    try:
        width = int(float(_text(size, 'width', path, '<size>')))
        height = int(float(_text(size, 'height', path, '<size>')))
    except ValueError as err:
        raise ValueError(f'{path}: bad <size> ({err})') from err
    if width <= 0 or height <= 0:
        raise ValueError(f'{path}: non-positive <size> {width} x {height}')

    boxes, labels, pseudo = [], [], []
    for index, obj in enumerate(root.findall('object')):
        name = _text(obj, 'name', path, f'object {index}')
        if name not in classes:
            raise ValueError(
                f'{path}: object {index} has unknown class {name!r}; expected one of '
                f'{tuple(classes)}')
        bndbox = obj.find('bndbox')
        if bndbox is None:
            raise ValueError(f'{path}: object {index} has no <bndbox>')
        try:
            box = [float(_text(bndbox, key, path, f'object {index} <bndbox>'))
                   for key in _BOX_KEYS]
        except ValueError as err:
            raise ValueError(f'{path}: object {index}: {err}') from err
        if box[0] > box[2] or box[1] > box[3]:
            raise ValueError(
                f'{path}: object {index} has xmin > xmax or ymin > ymax: {box}')
        flag = obj.find(PSEUDO_TAG)
        if flag is not None and (flag.text or '').strip() not in ('0', '1'):
            raise ValueError(f'{path}: object {index} has <{PSEUDO_TAG}>{flag.text}</'
                             f'{PSEUDO_TAG}>; expected 0 or 1')
        boxes.append(box)
        labels.append(classes.index(name))
        pseudo.append(flag is not None and flag.text.strip() == '1')
    return VocAnnotation(
        width=width,
        height=height,
        bboxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        labels=np.asarray(labels, dtype=np.int64),
        pseudo=np.asarray(pseudo, dtype=bool))


def sanitize_boxes(bboxes: np.ndarray, width: int,
                   height: int) -> Tuple[np.ndarray, np.ndarray, int]:
    """Clip boxes to the image and drop those left without area.

    Args:
        bboxes (np.ndarray): ``(K, 4)`` xyxy boxes.
        width (int): Image width.
        height (int): Image height.

    Returns:
        tuple: ``(clipped_boxes, keep, num_clipped)`` where ``keep`` ``(K,)`` marks boxes with
        positive area after clipping (``clipped_boxes`` holds all K) and ``num_clipped`` counts
        boxes that reached outside the image.
    """
    limits = np.array([width, height, width, height], dtype=np.float32)
    clipped = np.clip(bboxes, 0, limits)
    num_clipped = int(np.any(clipped != bboxes, axis=1).sum())
    keep = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    return clipped, keep, num_clipped


def add_voc_pseudo_boxes(source: Path, target: Path, bboxes: np.ndarray, scores: np.ndarray,
                         names: Sequence[str], remove_objects: Sequence[int] = ()) -> int:
    """Write ``source``'s VOC XML to ``target`` with pseudo-boxes appended as objects.

    Each pseudo-box is an ``<object>`` like the annotated ones (so :func:`parse_voc_xml` and
    the challenge's tools read it) with two more children: ``<pseudo>1</pseudo>`` and the
    teacher's ``<score>``. Coordinates are written in whole pixels, as the annotations are.
    Every other element of ``source`` is written as it is, but the objects of
    ``remove_objects`` (a missing rate written out: the boxes the training never saw).

    Args:
        source (Path): The original XML.
        target (Path): The XML to write (its folder is created).
        bboxes (np.ndarray): (K, 4) xyxy boxes in the image's pixels.
        scores (np.ndarray): (K,) scores.
        names (Sequence[str]): (K,) class names.
        remove_objects (Sequence[int]): Indices of ``source``'s ``<object>`` elements (in
            document order, as :func:`parse_voc_xml` numbers them) left out of ``target``.

    Returns:
        int: K.

    Raises:
        ValueError: Naming ``source``, for an index of ``remove_objects`` it has no object of.
    """
    tree = ET.parse(source)
    root = tree.getroot()
    objects = root.findall('object')
    indices = sorted({int(i) for i in remove_objects})
    wrong = [i for i in indices if not 0 <= i < len(objects)]
    if wrong:
        raise ValueError(f'{source}: has {len(objects)} objects; cannot remove objects {wrong}')
    for index in indices:
        root.remove(objects[index])
    for box, score, name in zip(np.asarray(bboxes).reshape(-1, 4), scores, names):
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = str(name)
        ET.SubElement(obj, PSEUDO_TAG).text = '1'
        ET.SubElement(obj, 'score').text = f'{float(score):.4f}'
        bndbox = ET.SubElement(obj, 'bndbox')
        for key, value in zip(_BOX_KEYS, np.rint(box).astype(int)):
            ET.SubElement(bndbox, key).text = str(int(value))
    target.parent.mkdir(parents=True, exist_ok=True)
    tree.write(target, encoding='unicode')
    return len(np.asarray(bboxes).reshape(-1, 4))
