"""Synthetic two-cell-type sets for training with mixed label sets, written as COCO json.

Every image holds signet ring cells (SRC) and eosinophil-like cells
(:func:`~mmdet_dghm.testing.synthetic.rendering.render_cell_types`). Two training sources
each box one type exhaustively and never the other, as two labs that annotated different
cell types: ``source_src.json`` boxes only SRCs, ``source_eos.json`` only eosinophils (with
its own category id, so the union has to map ids by name). ``test.json`` boxes both in
held-out images. All images go to ``images/``; the same arguments give the same bytes.
"""
import json
from pathlib import Path
from typing import Dict, List, Sequence, Union

import numpy as np
from mmengine.utils import ProgressBar

from .rendering import render_cell_types
from .stain import sample_stain
from .writing import write_jpeg

CELL_CLASSES = ('signet_ring_cell', 'eosinophil')
#: COCO category id of each class in the json files.
CATEGORY_IDS = (1, 2)
#: Split name -> labels its json boxes.
SPLIT_LABELS: Dict[str, Sequence[int]] = {'source_src': (0, ), 'source_eos': (1, ),
                                          'test': (0, 1)}


def coco_json(images: List[dict], annotated: Sequence[int]) -> dict:
    """COCO dict of ``images`` (``file_name``, ``height``, ``width``, ``boxes``, ``labels``)
    boxing only the labels in ``annotated``; categories are those labels only."""
    out = dict(images=[], annotations=[],
               categories=[dict(id=CATEGORY_IDS[c], name=CELL_CLASSES[c]) for c in annotated])
    for img_id, image in enumerate(images, 1):
        out['images'].append(dict(id=img_id, file_name=image['file_name'],
                                  height=image['height'], width=image['width']))
        for box, label in zip(image['boxes'].tolist(), image['labels'].tolist()):
            if label not in annotated:
                continue
            x0, y0, x1, y1 = box
            out['annotations'].append(dict(
                id=len(out['annotations']) + 1, image_id=img_id,
                category_id=CATEGORY_IDS[label], bbox=[x0, y0, x1 - x0, y1 - y0],
                area=(x1 - x0) * (y1 - y0), iscrowd=0))
    return out


def generate_mixed_label_sets(out_dir: Union[str, Path],
                              num_per_source: int = 64,
                              num_test: int = 24,
                              image_size: int = 256,
                              seed: int = 0,
                              box_median: float = 28.0,
                              src_coverage: tuple = (0.04, 0.15),
                              eosinophil_coverage: tuple = (0.04, 0.15),
                              progress: bool = False) -> Dict[str, Path]:
    """Writes ``images/`` and ``source_src.json``, ``source_eos.json``, ``test.json``.

    Args:
        out_dir: Destination folder.
        num_per_source: Training images of each source. Defaults to 64.
        num_test: Held-out images, both types boxed. Defaults to 24.
        image_size: Side of the square images in pixels. Defaults to 256.
        seed: Seed of everything. Defaults to 0.
        box_median: Median SRC box size in pixels (eosinophils: 0.8 x). Defaults to 28.0.
        src_coverage: Range of the image share covered by SRC boxes. Defaults to
            (0.04, 0.15).
        eosinophil_coverage: Same for eosinophils. Defaults to (0.04, 0.15).
        progress: Show a progress bar. Defaults to False.

    Returns:
        Dict[str, Path]: ``'images'`` (the image folder) and each split's json path.
    """
    if num_per_source < 1 or num_test < 1:
        raise ValueError(f'num_per_source and num_test must be >= 1, got {num_per_source}, '
                         f'{num_test}')
    out_dir = Path(out_dir)
    img_dir = out_dir / 'images'
    img_dir.mkdir(parents=True, exist_ok=True)
    counts = dict(source_src=num_per_source, source_eos=num_per_source, test=num_test)
    jobs = [(split, i) for split, n in counts.items() for i in range(n)]
    bar = ProgressBar(len(jobs)) if progress else None
    split_images: Dict[str, List[dict]] = {split: [] for split in counts}
    for split, i in jobs:
        rng = np.random.default_rng([seed, list(counts).index(split), i])
        rgb, boxes, labels = render_cell_types(
            rng, (image_size, image_size), sample_stain(rng), True, box_median=box_median,
            src_coverage=src_coverage, eosinophil_coverage=eosinophil_coverage)
        boxes = np.round(boxes)
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        name = f'{split}_{i:04d}.jpeg'
        write_jpeg(img_dir / name, rgb, 90)
        split_images[split].append(dict(file_name=name, height=image_size, width=image_size,
                                         boxes=boxes[keep], labels=labels[keep]))
        if bar is not None:
            bar.update()
    paths: Dict[str, Path] = {'images': img_dir}
    for split, images in split_images.items():
        paths[split] = out_dir / f'{split}.json'
        paths[split].write_text(json.dumps(coco_json(images, SPLIT_LABELS[split])))
    return paths
