"""Writers of small hand-made DigestPath layouts (images, VOC XML) for dataset tests.

Imported by name: pytest puts this folder on ``sys.path`` (rootdir-based import mode)."""
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image


def write_image(path: Path, width: int, height: int, mode: str = 'RGB', seed: int = 0) -> Path:
    """A random-noise image of ``width x height`` in ``mode``, format from the suffix."""
    rng = np.random.default_rng(seed)
    channels = {'L': 1, 'RGB': 3, 'RGBA': 4}[mode]
    pixels = rng.integers(0, 256, size=(height, width, channels), dtype=np.uint8)
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {'quality': 95} if path.suffix.lower() in ('.jpg', '.jpeg') else {}
    image.save(path, **options)
    return path


def write_voc(path: Path, size: Optional[Sequence[int]], boxes: Sequence[Sequence[float]],
              names: Optional[Sequence[str]] = None) -> Path:
    """A Pascal-VOC XML with ``size`` (width, height) or no ``<size>`` when None."""
    names = names or ['ring_cell_cancer'] * len(boxes)
    size_xml = ('' if size is None else
                f'<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>')
    objects = ''.join(
        f'<object><name>{name}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>'
        f'<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>'
        for name, b in zip(names, boxes))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<annotation><filename>{path.stem}.jpeg</filename>{size_xml}{objects}'
                    '</annotation>')
    return path


def make_layout(root: Path, positives: dict, negatives: dict, xml_beside: bool = True) -> Path:
    """Challenge layout under ``root``.

    Args:
        positives: name -> (width, height, boxes) written to ``sig-train-pos``.
        negatives: name -> (width, height) written to ``sig-train-neg``.
        xml_beside: XML next to the image, else in ``sig-train-pos-xml``.
    """
    for index, (name, (width, height, boxes)) in enumerate(positives.items()):
        write_image(root / 'sig-train-pos' / f'{name}.jpeg', width, height, seed=index)
        xml_dir = root / ('sig-train-pos' if xml_beside else 'sig-train-pos-xml')
        write_voc(xml_dir / f'{name}.xml', (width, height), boxes)
    for index, (name, (width, height)) in enumerate(negatives.items()):
        write_image(root / 'sig-train-neg' / f'{name}.jpeg', width, height, seed=100 + index)
    return root
