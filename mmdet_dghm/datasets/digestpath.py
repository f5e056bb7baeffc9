"""DigestPath2019 signet ring cell dataset as sliding-window tiles (paper Sec. 4.1, 4.2, 4.6)."""
import os.path as osp
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmdet.datasets import BaseDetDataset
from mmdet.registry import DATASETS

from ..fileio import FILE_EXTENSIONS, read_image_size, scaled_size
from ..structures import clip_boxes_to_windows, sliding_windows, split_visible
from ..structures.annotation_status import PARTIAL_KEY
from .digestpath_layout import NEG_DIR, POS_DIR, SRC_CLASS
from .folds import assign_slide_folds, slide_id
from .missing import drop_mask
from .removed_boxes import REMOVED_BOXES_FILE, RemovedBoxes, read_removed_boxes
from .status_keys import check_status_keys
from .voc_annotation import parse_voc_xml, sanitize_boxes

SPLITS = ('train', 'val', 'all')


@dataclass(frozen=True)
class SourceImage:
    """A whole image found on disk.

    Attributes:
        path (Path): Image file.
        positive (bool): From a positive folder (partially annotated, has an XML).
        slide (str): Slide id used for folds.
        xml_path (Path, optional): Its VOC XML (positive images only).
    """

    path: Path
    positive: bool
    slide: str
    xml_path: Optional[Path] = None


@dataclass(frozen=True)
class SourceBoxes:
    """The boxes of a whole image as the dataset reads them, in the image's own pixels.

    Attributes:
        kept (np.ndarray): (K, 4) the boxes it trains on (clipped to the image).
        removed (np.ndarray): (R, 4) the boxes a missing rate removed.
        removed_objects (np.ndarray): (R,) int64, the ``<object>`` of the XML each removed
            box was read from (document order); empty where the removal was read from the
            data root's ``removed_boxes.json`` (those objects are gone already).
        width (int): Image width.
        height (int): Image height.
    """

    kept: np.ndarray
    removed: np.ndarray
    removed_objects: np.ndarray
    width: int
    height: int



@DATASETS.register_module()
class DigestPathDataset(BaseDetDataset):
    """DigestPath2019 signet ring cell (SRC) detection, one entry per sliding-window tile.

    Layout (the challenge's): ``<data_root>/<pos_dir>/NAME.jpeg`` with ``NAME.xml`` beside it
    or in ``<pos_dir>-xml/``, and ``<data_root>/<neg_dir>/NAME.jpeg`` without XML. Positive
    images are *partially* annotated, negative images contain no SRC; every entry carries
    ``partially_annotated`` accordingly, which DGHM-C uses to decouple noisy from clean anchors.

    Entries hold paths and coordinates only (``LoadDigestPathTile`` reads the pixels); all
    coordinates are in the scaled space (source pixels times ``scale``). Each entry has
    ``img_path``/``src_img_path`` (source image), ``src_img_shape`` (H, W), ``tile_origin``
    (x, y), ``width``/``height`` of the tile, ``scale``, ``partially_annotated`` and
    ``instances`` (boxes in tile coordinates, ``bbox_label`` 0, ``ignore_flag`` 1 for slivers
    with less than ``min_visible`` of their area inside the tile). In test mode entries also
    carry ``src_gt_bboxes`` (kept boxes of the whole image) and ``src_removed_bboxes`` (boxes
    removed by ``drop_rate``), both in source coordinates, for stitching and R-/T-recall;
    training entries carry ``src_removed_bboxes`` too when boxes were removed (the quality of
    a teacher's pseudo-boxes is measured against them).

    A data root with a ``removed_boxes.json`` (``mmdet_dghm.datasets.removed_boxes``: a
    missing rate written out, ``tools/pseudo_label.py --materialise-drop``) has had its
    removal done already: its XML files hold the kept boxes, and the file the removed ones,
    which the entries carry as ``src_removed_bboxes``. Such a root is read with
    ``drop_rate=0``; the file must list every positive image and no other.

    Args:
        pos_dirs (Sequence[str]): Positive folders, relative to ``data_root`` or absolute.
            Defaults to ``('sig-train-pos',)``.
        neg_dirs (Sequence[str]): Negative folders. Defaults to ``('sig-train-neg',)``.
        slide_pattern (str): Regex whose first group is the slide id of a file name; names
            without a match are their own slide. Defaults to ``r'^(.*?)-lv0-'``.
        num_folds (int): Cross-validation folds over slides. Defaults to 5.
        fold (int): The held-out fold. Defaults to 0.
        split (str): ``'train'`` (all folds but ``fold``), ``'val'`` (only ``fold``) or
            ``'all'``. Defaults to ``'all'``.
        tile_size (int): Window side in scaled pixels (paper: 800 at 40x). Defaults to 800.
        tile_stride (int): Window step, ``0 < tile_stride <= tile_size`` (paper: 300).
            Defaults to 300.
        min_visible (float): Fraction of a box's area that must lie in a tile for it to be
            ground truth there; visible slivers below it are ignored. Defaults to 0.5.
        drop_rate (float): Controlled missing rate (paper Sec. 4.6): per image this share of
            boxes is removed before tiling, the same boxes in every tile and epoch. Removed
            boxes never become instances (not even ignored). Defaults to 0.0.
        drop_seed (int): Seed of the removal. Defaults to 0.
        scale (float): Resize factor applied to images and boxes (e.g. 0.5 reads 40x images
            at 20x). Defaults to 1.0.
        **kwargs: ``BaseDetDataset`` arguments (``data_root``, ``pipeline``, ``test_mode``...).

    Raises:
        ValueError: Naming the file or argument, for empty or missing folders, a file name in
            two folders, a positive image without XML, an XML without size or whose size
            disagrees with the image, a box with ``xmin > xmax``, an unknown class, an
            unreadable image, bad arguments, a training pipeline whose ``PackDetInputs``
            drops ``partially_annotated``, a malformed ``removed_boxes.json``, one that misses
            a positive image or names another, or ``drop_rate > 0`` on a root that has one.
    """

    METAINFO = dict(classes=(SRC_CLASS, ), palette=[(220, 20, 60)])

    def __init__(self,
                 *args,
                 pos_dirs: Sequence[str] = (POS_DIR, ),
                 neg_dirs: Sequence[str] = (NEG_DIR, ),
                 slide_pattern: str = r'^(.*?)-lv0-',
                 num_folds: int = 5,
                 fold: int = 0,
                 split: str = 'all',
                 tile_size: int = 800,
                 tile_stride: int = 300,
                 min_visible: float = 0.5,
                 drop_rate: float = 0.0,
                 drop_seed: int = 0,
                 scale: float = 1.0,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'split={split!r} must be one of {SPLITS}')
        if not 0 <= fold < num_folds:
            raise ValueError(f'fold={fold} must be in [0, num_folds={num_folds})')
        if not 0 < tile_stride <= tile_size:
            raise ValueError(
                f'tile_stride={tile_stride} must be in (0, tile_size={tile_size}]')
        if not 0 < min_visible <= 1:
            raise ValueError(f'min_visible={min_visible} must be in (0, 1]')
        if not 0 <= drop_rate <= 1:
            raise ValueError(f'drop_rate={drop_rate} must be in [0, 1]')
        if scale <= 0:
            raise ValueError(f'scale={scale} must be positive')
        self.pos_dirs = tuple(pos_dirs)
        self.neg_dirs = tuple(neg_dirs)
        self.slide_pattern = slide_pattern
        self.num_folds = num_folds
        self.fold = fold
        self.split = split
        self.tile_size = tile_size
        self.tile_stride = tile_stride
        self.min_visible = min_visible
        self.drop_rate = drop_rate
        self.drop_seed = drop_seed
        self.scale = scale
        self._positive_indices: Optional[np.ndarray] = None
        super().__init__(*args, **kwargs)
        check_status_keys(self.pipeline, (PARTIAL_KEY, ), self.test_mode,
                          f'DigestPathDataset({self.data_root})')

    # ------------------------------------------------------------------ discovery
    def _folder(self, name: str) -> Path:
        folder = Path(name if osp.isabs(name) else osp.join(self.data_root or '', name))
        if not folder.is_dir():
            raise ValueError(f'DigestPathDataset: folder {folder} does not exist')
        return folder

    def _scan(self, dirs: Sequence[str], positive: bool) -> List[SourceImage]:
        sources = []
        for name in dirs:
            folder = self._folder(name)
            images = sorted(p for p in folder.iterdir()
                            if p.is_file() and p.suffix.lower() in FILE_EXTENSIONS)
            if not images:
                raise ValueError(
                    f"DigestPathDataset: folder {folder} holds no images "
                    f"({', '.join(FILE_EXTENSIONS)})")
            for path in images:
                xml_path = self._find_xml(path) if positive else None
                sources.append(SourceImage(
                    path=path, positive=positive,
                    slide=slide_id(path.name, self.slide_pattern), xml_path=xml_path))
        return sources

    @staticmethod
    def _find_xml(image: Path) -> Path:
        candidates = (image.with_suffix('.xml'),
                      image.parent.with_name(image.parent.name + '-xml') / f'{image.stem}.xml')
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise ValueError(
            f"{image}: positive image without VOC XML (looked for "
            f"{' and '.join(str(c) for c in candidates)}); a positive image is never "
            "treated as negative")

    def scan_sources(self) -> List[SourceImage]:
        """All source images of the configured folders, before the fold split.

        Raises:
            ValueError: For missing/empty folders, a file name found twice, or a positive
                image without XML.
        """
        sources = self._scan(self.pos_dirs, True) + self._scan(self.neg_dirs, False)
        seen: Dict[str, Path] = {}
        for source in sources:
            if source.path.name in seen:
                raise ValueError(
                    f'DigestPathDataset: file name {source.path.name!r} appears twice: '
                    f'{seen[source.path.name]} and {source.path}')
            seen[source.path.name] = source.path
        return sources

    def slide_folds(self, sources: Sequence[SourceImage]) -> Dict[str, int]:
        """Fold of each slide, positive and negative images balanced separately."""
        pos_counts: Dict[str, int] = {}
        neg_counts: Dict[str, int] = {}
        for source in sources:
            counts = pos_counts if source.positive else neg_counts
            counts[source.slide] = counts.get(source.slide, 0) + 1
        return assign_slide_folds(pos_counts, neg_counts, self.num_folds)

    def _in_split(self, fold: int) -> bool:
        if self.split == 'all':
            return True
        return (fold == self.fold) == (self.split == 'val')

    # ------------------------------------------------------------------ annotations
    @cached_property
    def written_removal(self) -> Optional[RemovedBoxes]:
        """The removal written into the data root (its ``removed_boxes.json``), or None.

        Raises:
            ValueError: For a malformed file, or one on a dataset removing boxes itself.
        """
        removal = read_removed_boxes(self.data_root) if self.data_root else None
        if removal is not None and self.drop_rate > 0:
            raise ValueError(
                f'{osp.join(self.data_root, REMOVED_BOXES_FILE)}: this data root has its '
                f'boxes removed already (drop_rate={removal.drop_rate}, drop_seed='
                f'{removal.drop_seed} of {removal.source}); read it with drop_rate=0, not '
                f'{self.drop_rate}')
        return removal

    def _check_written_removal(self, sources: Sequence[SourceImage]) -> None:
        removal = self.written_removal
        if removal is None:
            return
        positives = {s.path.name for s in sources if s.positive}
        path = osp.join(self.data_root, REMOVED_BOXES_FILE)
        missing, unknown = sorted(positives - set(removal.boxes)), sorted(
            set(removal.boxes) - positives)
        if missing:
            raise ValueError(f'{path}: lists no removed boxes of the positive images '
                             f'{missing} (an empty list where none were removed)')
        if unknown:
            raise ValueError(f'{path}: lists {unknown}, which are no positive images of '
                             f'{self.data_root}')

    def source_boxes(self, source: SourceImage,
                     stats: Optional[Dict[str, list]] = None) -> SourceBoxes:
        """The kept and removed boxes of a whole image (see :class:`SourceBoxes`).

        Boxes reaching outside the image are clipped and those left without area dropped
        (counted into ``stats`` for a warning), then ``drop_rate`` removes its share, or the
        data root's ``removed_boxes.json`` says what was removed.
        """
        width, height = read_image_size(source.path)
        none = np.zeros((0, 4), dtype=np.float32)
        if source.xml_path is None:
            return SourceBoxes(none, none, np.zeros(0, dtype=np.int64), width, height)
        annotation = parse_voc_xml(source.xml_path, self.metainfo['classes'])
        if (annotation.width, annotation.height) != (width, height):
            raise ValueError(
                f'{source.xml_path}: <size> {annotation.width} x {annotation.height} disagrees '
                f'with image {source.path} of {width} x {height}')
        boxes, keep, num_clipped = sanitize_boxes(annotation.bboxes, width, height)
        if stats is not None and num_clipped:
            stats['clipped'].append((source.xml_path, num_clipped))
        if stats is not None and not keep.all():
            stats['zero_area'].append((source.xml_path, int((~keep).sum())))
        boxes = boxes[keep]
        removal = self.written_removal
        if removal is not None:
            if source.path.name not in removal.boxes:
                raise ValueError(f'{osp.join(self.data_root, REMOVED_BOXES_FILE)}: lists no '
                                 f'removed boxes of {source.path.name}')
            return SourceBoxes(boxes, removal.boxes[source.path.name],
                               np.zeros(0, dtype=np.int64), width, height)
        dropped = drop_mask(len(boxes), self.drop_rate, self.drop_seed, source.path.name)
        return SourceBoxes(boxes[~dropped], boxes[dropped],
                           np.flatnonzero(keep)[dropped].astype(np.int64), width, height)

    @staticmethod
    def _warn(stats: Dict[str, list]) -> None:
        messages = dict(clipped='reached outside their image and were clipped',
                        zero_area='had zero area (after clipping) and were dropped')
        for key, message in messages.items():
            if stats[key]:
                total = sum(n for _, n in stats[key])
                files = ', '.join(f'{path} ({n})' for path, n in stats[key])
                warnings.warn(f'DigestPathDataset: {total} boxes {message}: {files}')

    # ------------------------------------------------------------------ tiles
    def _tile_entries(self, source: SourceImage, boxes: np.ndarray, removed: np.ndarray,
                      shape: Tuple[int, int]) -> List[dict]:
        height, width = shape
        windows = sliding_windows(width, height, self.tile_size, self.tile_stride)
        clipped, visible = clip_boxes_to_windows(boxes, windows)
        present, ignored = split_visible(visible, self.min_visible)
        entries = []
        for window, tile_boxes, tile_present, tile_ignored in zip(windows, clipped, present,
                                                                  ignored):
            x1, y1, x2, y2 = (int(v) for v in window)
            instances = [
                dict(bbox=box.tolist(), bbox_label=0, ignore_flag=int(flag))
                for box, flag in zip(tile_boxes[tile_present], tile_ignored[tile_present])
            ]
            entry = dict(
                img_path=str(source.path),
                src_img_path=str(source.path),
                src_img_shape=(height, width),
                tile_origin=(x1, y1),
                width=x2 - x1,
                height=y2 - y1,
                scale=self.scale,
                partially_annotated=source.positive,
                instances=instances)
            if self.test_mode:
                entry['src_gt_bboxes'] = boxes.copy()
            if self.test_mode or self.drop_rate > 0 or self.written_removal is not None:
                entry['src_removed_bboxes'] = removed.copy()
            entries.append(entry)
        return entries

    def load_data_list(self) -> List[dict]:
        """One entry per tile of every source image in the split (see the class docstring)."""
        sources = self.scan_sources()
        self._check_written_removal(sources)
        folds = self.slide_folds(sources)
        stats: Dict[str, list] = dict(clipped=[], zero_area=[])
        data_list: List[dict] = []
        for source in sources:
            if not self._in_split(folds[source.slide]):
                continue
            boxes = self.source_boxes(source, stats)
            scaled_w, scaled_h = scaled_size(boxes.width, boxes.height, self.scale)
            factor = np.array([scaled_w / boxes.width, scaled_h / boxes.height] * 2,
                              dtype=np.float32)
            data_list.extend(self._tile_entries(
                source, boxes.kept * factor, boxes.removed * factor, (scaled_h, scaled_w)))
        self._warn(stats)
        if not data_list:
            raise ValueError(
                f'{self.data_root}: split={self.split!r} of fold {self.fold}/{self.num_folds} '
                f'holds no image ({len(set(folds.values()))} folds are occupied by '
                f'{len(folds)} slides); use fewer folds or add slides')
        for index, entry in enumerate(data_list):
            entry['img_id'] = index
        return data_list

    def positive_indices(self) -> np.ndarray:
        """Indices of tiles with at least one non-ignored box, read from the entries (no
        pixels), for ``PosNegBatchSampler``. Cached after the first call."""
        if self._positive_indices is None:
            self._positive_indices = np.flatnonzero([
                any(not inst['ignore_flag'] for inst in self.get_data_info(i)['instances'])
                for i in range(len(self))
            ]).astype(np.int64)
        return self._positive_indices
