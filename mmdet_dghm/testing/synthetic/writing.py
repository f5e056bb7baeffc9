"""How synthetic images land on disk: JPEG files, Pascal-VOC XML and DigestPath names."""
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np

from mmdet_dghm.datasets.digestpath_layout import NEG_DIR, POS_DIR, SRC_CLASS

#: Object name of every box written (the challenge's one class).
CLASS_NAME = SRC_CLASS


def voc_xml(filename: str, width: int, height: int, boxes: np.ndarray) -> ET.ElementTree:
    """Pascal-VOC annotation with integer boxes named ``ring_cell_cancer``.

    A box touching the image border is marked ``truncated``.
    """
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = POS_DIR
    ET.SubElement(root, 'filename').text = filename
    size = ET.SubElement(root, 'size')
    for tag, val in (('width', width), ('height', height), ('depth', 3)):
        ET.SubElement(size, tag).text = str(val)
    ET.SubElement(root, 'segmented').text = '0'
    for x0, y0, x1, y1 in boxes:
        obj = ET.SubElement(root, 'object')
        ET.SubElement(obj, 'name').text = CLASS_NAME
        ET.SubElement(obj, 'pose').text = 'Unspecified'
        touches = x0 <= 0 or y0 <= 0 or x1 >= width or y1 >= height
        ET.SubElement(obj, 'truncated').text = str(int(touches))
        ET.SubElement(obj, 'difficult').text = '0'
        bnd = ET.SubElement(obj, 'bndbox')
        for tag, val in zip(('xmin', 'ymin', 'xmax', 'ymax'), (x0, y0, x1, y1)):
            ET.SubElement(bnd, tag).text = str(int(val))
    tree = ET.ElementTree(root)
    ET.indent(tree, space=' ')
    return tree


def round_boxes(boxes: np.ndarray) -> np.ndarray:
    """Integer VOC boxes; boxes that round to zero width or height are dropped."""
    out = np.round(boxes).astype(np.int64)
    return out[(out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])]


def prepare_dirs(out_dir: Path, overwrite: bool) -> None:
    """Creates ``sig-train-pos/`` and ``sig-train-neg/``, emptied of .jpeg/.xml if allowed.

    Raises:
        FileExistsError: Naming the folder, when one is not empty and ``overwrite`` is off.
    """
    for sub in (POS_DIR, NEG_DIR):
        d = out_dir / sub
        if d.is_dir() and any(d.iterdir()):
            if not overwrite:
                raise FileExistsError(f'{d} is not empty; pass overwrite=True to replace '
                                      f'its .jpeg/.xml files')
            for f in list(d.glob('*.jpeg')) + list(d.glob('*.xml')):
                f.unlink()
        d.mkdir(parents=True, exist_ok=True)


def tile_name(positive: bool, index: int, image_size: tuple, scale: float,
              images_per_slide: int, origin: tuple) -> str:
    """DigestPath-style ``<slide>-lv0-<x>-<y>-<w>-<h>`` of the ``index``-th image.

    Image ``index`` lies on slide ``index // images_per_slide`` (``synth-pos-NN`` or
    ``synth-neg-NN``). ``x, y, w, h`` are level-0 (40x) coordinates, so ``w = image width /
    scale``; the images of a slide sit in a row from ``origin``, 500 px apart, every second
    one a row lower.
    """
    h, w = image_size
    w0, h0 = int(round(w / scale)), int(round(h / scale))
    j = index % images_per_slide
    x0 = int(origin[0] + j * (w0 + 500))
    y0 = int(origin[1] + (j % 2) * (h0 + 500))
    slide_id = f'synth-{"pos" if positive else "neg"}-{index // images_per_slide:02d}'
    return f'{slide_id}-lv0-{x0}-{y0}-{w0}-{h0}'


def write_jpeg(path: Path, rgb: np.ndarray, quality: int) -> None:
    """Writes an RGB uint8 image as JPEG of ``quality`` 1-100.

    Raises:
        RuntimeError: Naming the file, when encoding fails.
    """
    ok, buf = cv2.imencode('.jpeg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError(f'JPEG encoding failed for {path}')
    Path(path).write_bytes(buf.tobytes())


def write_voc(path: Path, image_name: str, image_size: tuple, boxes: np.ndarray) -> np.ndarray:
    """Writes the VOC XML of ``boxes`` (float xyxy) for ``image_name`` of (h, w) ``image_size``.

    Returns:
        np.ndarray: The integer boxes written (:func:`round_boxes`).
    """
    h, w = image_size
    written = round_boxes(boxes)
    voc_xml(image_name, w, h, written).write(path, encoding='utf-8')
    return written
