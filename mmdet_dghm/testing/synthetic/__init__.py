"""Synthetic DigestPath2019-like H&E images with signet ring cells (SRC).

The generators write the challenge layout that :class:`~mmdet_dghm.datasets.DigestPathDataset`
reads (``sig-train-pos/NAME.jpeg`` + ``NAME.xml``, ``sig-train-neg/NAME.jpeg``), or COCO json
for two cell types, so that tests, the demo and experiments run without the real data (paper
section 4.1 describes the real set).

An image is made in three kinds of step: :mod:`.placing` decides where the tissue, glands
and cells go, :mod:`.painting` how the background and each kind of cell look in stain
optical density, and :mod:`.stain` turns that into RGB with per-slide stain variation
(:mod:`.rendering` runs the steps in order). :mod:`.writing` puts images, VOC XML and names
on disk; :mod:`.digestpath` and :mod:`.mixed_labels` generate whole sets. Every length is a
multiple of the SRC box median at the chosen ``scale`` (40x: 56 px), so the whole image
scales with the boxes.

Content: fibrous pink stroma with elongated stromal nuclei, white lumen/background,
glands, sheets of cells with central round nuclei, lymphocytes (small dark round nuclei),
empty vacuoles/fat, and, in positive images only, SRCs (a pale mucin vacuole with a dark
crescent nucleus pressed to the rim) in crowded clusters and scattered. Positive images get
a box for every SRC (complete annotation); partial annotation is simulated later by the
dataset's ``drop_rate``. :func:`render_cell_types` can add a second annotated cell type,
eosinophil-like cells (a bright pink granular cytoplasm around a dark two-lobed nucleus), for
experiments with two classes. Everything is drawn from one seed: the same arguments give the
same bytes.
"""
from .digestpath import SyntheticSummary, generate_synthetic_digestpath, slide_style
from .geometry import CellGeometry, lognormal_box_sizes, sample_ellipses
from .mixed_labels import (
                           CATEGORY_IDS,
                           CELL_CLASSES,
                           SPLIT_LABELS,
                           coco_json,
                           generate_mixed_label_sets,
)
from .noise import smooth_noise
from .placing import pack_discs, sample_points
from .rendering import render_cell_types, render_image
from .stain import StainStyle, sample_stain
from .writing import CLASS_NAME, round_boxes, tile_name, voc_xml

__all__ = [
    'CATEGORY_IDS', 'CELL_CLASSES', 'CLASS_NAME', 'CellGeometry', 'SPLIT_LABELS',
    'StainStyle', 'SyntheticSummary', 'coco_json', 'generate_mixed_label_sets',
    'generate_synthetic_digestpath', 'lognormal_box_sizes', 'pack_discs', 'render_cell_types',
    'render_image', 'round_boxes', 'sample_ellipses', 'sample_points', 'sample_stain',
    'slide_style', 'smooth_noise', 'tile_name', 'voc_xml'
]
