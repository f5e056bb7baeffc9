"""Whole-image detection by overlapping tiles: lazy reading, batching, forward, shift and merge.

The detector sees the image as the test-mode dataset does: overlapping windows (the last one
snapped to the image edge, so every window has the same size and a batch needs no padding),
predicted one batch at a time, shifted by their origin and merged by
:func:`merge_tile_predictions`: suppression by intersection over the smaller box, so a cell
cut by a window edge gives one box, not a partial and a whole one. Boxes keep their class:
windows are merged class by class, as mmdet's own NMS suppresses within a class only.
Windows are read through an :class:`ImageReader` by background threads while the model runs
on the previous batch (:class:`BatchPrefetcher`), so memory holds two batches of tiles, never
the whole image (for formats that allow region reads). With a :class:`TissueMask`, windows
without tissue are not read and boxes centred on background are dropped.

Resolution is part of the model: windows are cut at the model's pixel size from the input's
nearest pyramid level (see :mod:`.resolution`). Everything happens in that view's pixels (the
tissue mask is brought to them) and the merged boxes are mapped to the input's level-0 pixels
once, at the end.
"""
import logging
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmdet.registry import DATASETS, MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader
from torch import nn

from ..fileio import ImageReader, PathLike, open_image
from ..structures import merge_tile_predictions, sliding_windows, window_cores
from .resolution import Resolution, model_pixel_size, plan_resolution, resampled_view, to_native
from .tissue_mask import TissueMask
from .window_reading import BatchPrefetcher

__all__ = ['DEFAULT_IOS_THR', 'HALF_DTYPES', 'Detections', 'TiledDetector', 'build_detector',
           'checkpoint_mismatch', 'config_dataset_meta', 'half_precision_features',
           'load_checkpoint_strict']

# Boxes overlapping by more than half of the smaller one are one cell: chosen on the demo's
# held-out image, where it makes 9 overlapping windows count as one window does
# (docs/inference.md, benchmarks/seam_merging.md).
DEFAULT_IOS_THR = 0.5
logger = logging.getLogger(__name__)


@dataclass
class Detections:
    """Merged detections of one whole image, in its pixel coordinates.

    Attributes:
        path (Path): The image file.
        width (int): Image width.
        height (int): Image height.
        bboxes (np.ndarray): ``(N, 4)`` float32 xyxy boxes, by descending score.
        scores (np.ndarray): ``(N,)`` float32 scores.
        num_tiles (int): Windows the model ran on.
        forward_seconds (float): Wall time inside the model (normalisation, network, box
            decoding and per-tile NMS) for this image.
        skipped_tiles (int): Windows skipped as background (0 without a tissue mask).
        tissue_fraction (float, optional): Share of the image that is tissue; None without a
            tissue mask.
        resolution (Resolution, optional): The pixel sizes, level and factor used.
        labels (np.ndarray, optional): ``(N,)`` int64 class of each box, an index into the
            detector's ``class_names``; None: every box is of the first class.
    """

    path: Path
    width: int
    height: int
    bboxes: np.ndarray
    scores: np.ndarray
    num_tiles: int
    forward_seconds: float
    skipped_tiles: int = 0
    tissue_fraction: Optional[float] = None
    resolution: Optional[Resolution] = None
    labels: Optional[np.ndarray] = None

    @property
    def label_array(self) -> np.ndarray:
        """``(N,)`` int64 labels: ``labels``, or zeros (the first class) when None."""
        if self.labels is None:
            return np.zeros(len(self.scores), np.int64)
        return np.asarray(self.labels, np.int64).reshape(-1)


def _first(keys: Sequence, limit: int = 5) -> str:
    shown = ', '.join(str(k) for k in list(keys)[:limit])
    return shown + (', ...' if len(keys) > limit else '')


def checkpoint_mismatch(model_state: dict, ckpt_state: dict) -> List[str]:
    """Differences between a model's state dict and a checkpoint's, one line per kind.

    Args:
        model_state (dict): ``model.state_dict()``.
        ckpt_state (dict): The checkpoint's state dict (``module.`` prefixes removed).

    Returns:
        List[str]: Empty when the keys and shapes agree; otherwise counts and the first keys
        of the missing, unexpected and shape-mismatched entries.
    """
    missing = [k for k in model_state if k not in ckpt_state]
    unexpected = [k for k in ckpt_state if k not in model_state]
    mismatched = [f'{k} (checkpoint {tuple(ckpt_state[k].shape)} vs model '
                  f'{tuple(model_state[k].shape)})'
                  for k in model_state
                  if k in ckpt_state and tuple(ckpt_state[k].shape) != tuple(model_state[k].shape)]
    problems = []
    for name, keys in (('missing', missing), ('unexpected', unexpected),
                       ('shape-mismatched', mismatched)):
        if keys:
            problems.append(f'{len(keys)} {name} keys (first: {_first(keys)})')
    return problems


def load_checkpoint_strict(model: nn.Module, checkpoint: PathLike, config_name: str) -> dict:
    """Load ``checkpoint`` into ``model`` only if every key and shape matches.

    Args:
        model (nn.Module): The model built from ``config_name``.
        checkpoint: Checkpoint file (mmengine's ``{'state_dict': ..., 'meta': ...}`` or a bare
            state dict).
        config_name (str): The config, named in errors.

    Returns:
        dict: The checkpoint's ``meta`` (empty when it has none).

    Raises:
        ValueError: Naming the checkpoint (and the config) when the file cannot be read or its
            weights do not match the model: missing, unexpected or differently shaped keys.
    """
    try:
        ckpt = CheckpointLoader.load_checkpoint(str(checkpoint), map_location='cpu',
                                                logger='silent')
    except Exception as err:  # missing file, truncated zip, foreign pickle...
        raise ValueError(f'checkpoint {checkpoint}: cannot be loaded '
                         f'({type(err).__name__}: {err})') from err
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f'checkpoint {checkpoint}: holds no state dict of tensors')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    problems = checkpoint_mismatch(model.state_dict(), state)
    if problems:
        raise ValueError(f'checkpoint {checkpoint} does not match config {config_name}: '
                         + '; '.join(problems))
    model.load_state_dict(state, strict=True)
    return ckpt.get('meta', {}) if 'state_dict' in ckpt else {}


def config_dataset_meta(cfg: Config) -> dict:
    """The metainfo of ``cfg``'s test dataset, as mmengine's Runner would give the model: its
    registered class's ``METAINFO`` updated by the dataset config's ``metainfo``.

    Returns:
        dict: Empty when the config has no test dataset, or neither names anything.
    """
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    kind = dataset.get('type')
    dataset_cls = DATASETS.get(kind) if isinstance(kind, str) else kind
    meta = dict(getattr(dataset_cls, 'METAINFO', None) or {})
    meta.update(dataset.get('metainfo') or {})
    return meta


def build_detector(config: Union[str, Path, Config], checkpoint: Optional[PathLike] = None,
                   device: str = 'cpu', score_thr: float = 0.05, max_per_img: int = 1000,
                   cfg_options: Optional[dict] = None) -> nn.Module:
    """Build ``config``'s detector in eval mode, with test-time limits for whole images.

    Whole images hold hundreds of cells and the FROC sweep needs low scores, so the test
    config's ``score_thr`` and ``max_per_img`` are overridden. The backbone's pretrained
    ``init_cfg`` is dropped: the weights come from ``checkpoint`` (random without one).

    Args:
        config: Config file or object.
        checkpoint: Weights, loaded strictly (see :func:`load_checkpoint_strict`).
        device (str): Torch device. Defaults to 'cpu'.
        score_thr (float): Lowest score kept per tile. Defaults to 0.05.
        max_per_img (int): Most boxes kept per tile. Defaults to 1000.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The model, with ``cfg``, ``dataset_meta`` (the checkpoint's, saved by
        mmengine's Runner, else the config's test dataset's: :func:`config_dataset_meta`) and
        ``pixel_size`` (um/px of its training tiles: the checkpoint's meta, else the config's
        ``pixel_size``; None when neither has one) attributes.

    Raises:
        ValueError: For a checkpoint not matching the model, or whose ``pixel_size`` differs
            from the config's.
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(str(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if not 0 <= score_thr <= 1 or max_per_img < 1:
        raise ValueError(f'score_thr={score_thr} must be in [0, 1] and max_per_img='
                         f'{max_per_img} positive')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model_cfg = cfg.model
    model_cfg.test_cfg.score_thr = score_thr
    model_cfg.test_cfg.max_per_img = max_per_img
    if 'backbone' in model_cfg:
        model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg)
    name = getattr(cfg, 'filename', None) or 'the given Config'
    meta = load_checkpoint_strict(model, checkpoint, name) if checkpoint is not None else {}
    model.cfg = cfg
    model.dataset_meta = meta.get('dataset_meta') or config_dataset_meta(cfg)
    model.pixel_size = model_pixel_size(cfg, meta, checkpoint)
    return model.to(device).eval()


def _to_float32(value: Any) -> Any:
    """Tensors (also in tuples, lists and dicts) as float32; anything else as is."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.is_floating_point() else value
    if isinstance(value, (tuple, list)):
        return type(value)(_to_float32(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_float32(v) for k, v in value.items()}
    return value


#: Reduced precision of ``fp16`` per device type: float16 on GPUs, bfloat16 on CPUs (whose
#: float16 autocast covers few ops).
HALF_DTYPES = {'cuda': torch.float16, 'cpu': torch.bfloat16}


@contextmanager
def half_precision_features(model: nn.Module, device_type: str = 'cpu') -> Iterator[None]:
    """Within the block, ``model.extract_feat`` (backbone and neck, where an mmdet detector
    spends most of its time) runs under autocast at :data:`HALF_DTYPES` ``[device_type]`` and
    returns float32 features, so the head, box decoding and NMS run in float32 as without it:
    mmcv's NMS kernels take float32 boxes only (CPU and CUDA). A model without
    ``extract_feat`` runs as is.
    """
    original = getattr(model, 'extract_feat', None)
    if original is None:
        yield
        return

    def extract_feat(*args, **kwargs):
        with torch.autocast(device_type, dtype=HALF_DTYPES[device_type]):
            return _to_float32(original(*args, **kwargs))

    shadowed = vars(model).get('extract_feat')
    model.extract_feat = extract_feat
    try:
        yield
    finally:
        if shadowed is None:
            del model.extract_feat
        else:
            model.extract_feat = shadowed


def _merge_by_class(bboxes: Sequence[np.ndarray], scores: Sequence[np.ndarray],
                    labels: Sequence[np.ndarray], origins: np.ndarray, nms_iou_thr: float,
                    ios_thr: Optional[float], cores: Optional[np.ndarray]
                    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`merge_tile_predictions` within each class (boxes of different classes never
    suppress each other, as in mmdet's batched NMS), then all classes by descending score.

    With one class present this is exactly :func:`merge_tile_predictions`.
    """
    present = np.unique(np.concatenate(labels)) if len(labels) else np.zeros(0, np.int64)
    if len(present) <= 1:
        merged_bboxes, merged_scores = merge_tile_predictions(
            bboxes, scores, origins, nms_iou_thr, ios_thr, cores)
        label = int(present[0]) if len(present) else 0
        return merged_bboxes, merged_scores, np.full(len(merged_scores), label, np.int64)
    parts = []
    for label in present.tolist():
        keep = [tile_labels == label for tile_labels in labels]
        merged_bboxes, merged_scores = merge_tile_predictions(
            [b[k] for b, k in zip(bboxes, keep)], [s[k] for s, k in zip(scores, keep)],
            origins, nms_iou_thr, ios_thr, cores)
        parts.append((merged_bboxes, merged_scores,
                      np.full(len(merged_scores), label, np.int64)))
    all_bboxes, all_scores, all_labels = (np.concatenate(p) for p in zip(*parts))
    order = np.argsort(-all_scores, kind='stable')
    return all_bboxes[order], all_scores[order], all_labels[order]


class TiledDetector:
    """Detect objects in images of any size with a detector trained on tiles.

    Args:
        model (nn.Module): An mmdet detector in eval mode (see :func:`build_detector`).
        tile_size (int): Window side in pixels (the paper's 800). Defaults to 800.
        overlap (int): Pixels shared by neighbouring windows, ``0 <= overlap < tile_size``;
            should exceed the largest object so every object lies whole in some window.
            Defaults to 200.
        batch_size (int): Windows per forward pass. Defaults to 4.
        nms_iou_thr (float): IoU of the NMS that merges windows when ``ios_thr`` is None.
            Defaults to 0.5.
        ios_thr (float, optional): Intersection over the smaller box above which the
            lower-scored of two boxes of the whole image is dropped (:func:`ios_nms`, run on
            one window as on many); None merges by IoU NMS across windows only.
            Defaults to 0.5.
        pixel_size (float, optional): The inputs' level-0 pixel size in um/px, overriding
            what their files say. Defaults to None (from each file).
        class_name (str, optional): Name written for the one class detected, replacing the
            model's (for a model of several classes, keep one with ``classes``). Defaults to
            None (the model's ``dataset_meta['classes']``).
        classes (Sequence[str], optional): The model's classes to keep, by name; boxes of the
            others are dropped before merging. Defaults to None (all).
        fp16 (bool): Backbone and neck in reduced precision (:func:`half_precision_features`):
            float16 on CUDA, bfloat16 on the CPU (fast on CPUs with bfloat16 instructions,
            AVX-512 BF16 or AMX; slower elsewhere); the head, box decoding and NMS stay
            float32. Defaults to False.
        num_workers (int): Threads reading windows ahead of the model
            (:class:`BatchPrefetcher`). Defaults to 1.

    Tile size and overlap are in the model's pixels (the input resampled to the model's
    ``pixel_size`` attribute, when it has one).
    """

    def __init__(self, model: nn.Module, tile_size: int = 800, overlap: int = 200,
                 batch_size: int = 4, nms_iou_thr: float = 0.5,
                 ios_thr: Optional[float] = DEFAULT_IOS_THR,
                 pixel_size: Optional[float] = None,
                 class_name: Optional[str] = None,
                 classes: Optional[Sequence[str]] = None,
                 fp16: bool = False, num_workers: int = 1) -> None:
        if tile_size < 1 or not 0 <= overlap < tile_size:
            raise ValueError(f'tile_size={tile_size} must be positive and overlap={overlap} '
                             'in [0, tile_size)')
        if batch_size < 1:
            raise ValueError(f'batch_size={batch_size} must be positive')
        if num_workers < 1:
            raise ValueError(f'num_workers={num_workers} must be positive')
        if classes is not None and not len(classes):
            raise ValueError('classes is empty: name at least one class to keep')
        self.model = model
        self.tile_size = tile_size
        self.overlap = overlap
        self.batch_size = batch_size
        self.nms_iou_thr = nms_iou_thr
        self.ios_thr = ios_thr
        self.pixel_size = pixel_size
        self._class_name = class_name
        self._classes = None if classes is None else tuple(dict.fromkeys(map(str, classes)))
        self.fp16 = fp16
        self.num_workers = num_workers
        self._logged_fp16 = False

    @classmethod
    def from_config(cls, config: Union[str, Path, Config], checkpoint: Optional[PathLike],
                    device: str = 'cpu', score_thr: float = 0.05, max_per_img: int = 1000,
                    cfg_options: Optional[dict] = None, **kwargs) -> 'TiledDetector':
        """Build the model (:func:`build_detector`) and wrap it; ``kwargs`` go to ``__init__``."""
        return cls(build_detector(config, checkpoint, device, score_thr, max_per_img,
                                  cfg_options), **kwargs)

    @property
    def model_classes(self) -> Tuple[str, ...]:
        """The model's class names (``dataset_meta['classes']``); empty when it has none."""
        classes = (getattr(self.model, 'dataset_meta', None) or {}).get('classes') or ()
        return tuple(str(c) for c in classes)

    def _model_description(self) -> str:
        name = getattr(getattr(self.model, 'cfg', None), 'filename', None)
        return f'the model{f" of {name}" if name else ""}'

    def _kept_classes(self) -> List[int]:
        """Indices of the model's classes kept (all, or those named by ``classes``).

        Raises:
            ValueError: For a kept class the model does not have, or ``classes`` given for a
                model without class names.
        """
        model_classes = self.model_classes
        if self._classes is None:
            return list(range(len(model_classes)))
        if not model_classes:
            raise ValueError(f'classes (--classes) {", ".join(self._classes)}: '
                             f'{self._model_description()} has no class names to choose from')
        unknown = [c for c in self._classes if c not in model_classes]
        if unknown:
            raise ValueError(f'unknown class{"es" if len(unknown) > 1 else ""} '
                             f'{", ".join(map(repr, unknown))} (--classes): '
                             f'{self._model_description()} has '
                             f'{", ".join(map(repr, model_classes))}')
        return [i for i, name in enumerate(model_classes) if name in self._classes]

    def _label_map(self) -> Optional[np.ndarray]:
        """Output label of each model label (-1: dropped), or None for a model without class
        names (every box is then the one output class)."""
        if not self.model_classes:
            self._kept_classes()  # refuses classes without names
            return None
        kept = self._kept_classes()
        label_map = np.full(len(self.model_classes), -1, np.int64)
        label_map[kept] = np.arange(len(kept))
        return label_map

    @property
    def class_names(self) -> Tuple[str, ...]:
        """The classes written with the detections, in the model's order: the model's
        (``dataset_meta['classes']``), those kept by ``classes``, or ``class_name`` for one.
        ``Detections.labels`` index this tuple.

        Raises:
            ValueError: When the model names no class and none is given, a kept class is
                unknown, or ``class_name`` is given for more than one class.
        """
        model_classes = self.model_classes
        if not model_classes:
            if self._class_name is None:
                raise ValueError(
                    f'{self._model_description()} has no class names '
                    "(dataset_meta['classes']: neither its checkpoint's meta nor its config's "
                    'test dataset names any); pass class_name (--class-name)')
            self._kept_classes()  # refuses classes without names
            return (self._class_name, )
        names = tuple(model_classes[i] for i in self._kept_classes())
        if self._class_name is None:
            return names
        if len(names) != 1:
            raise ValueError(
                f'class_name (--class-name) {self._class_name!r} renames one class, but '
                f'{self._model_description()} detects {len(names)} '
                f'({", ".join(map(repr, names))}); keep one with classes (--classes)')
        return (self._class_name, )

    @property
    def class_name(self) -> str:
        """The first of :attr:`class_names` (for DigestPath: the only one).

        Raises:
            ValueError: As :attr:`class_names`.
        """
        return self.class_names[0]

    @property
    def class_colors(self) -> Optional[List[Tuple[int, int, int]]]:
        """RGB colour of each of :attr:`class_names` from the model's
        ``dataset_meta['palette']`` (one RGB triple per model class, as mmdet datasets give);
        None without a usable one (the exporters then use :func:`class_colors`)."""
        palette = (getattr(self.model, 'dataset_meta', None) or {}).get('palette')
        model_classes = self.model_classes
        if not model_classes or isinstance(palette, str) or palette is None \
                or len(palette) != len(model_classes):
            return None
        colors = [tuple(palette[i]) for i in self._kept_classes()]
        if not all(len(c) == 3 and all(isinstance(v, (int, np.integer)) and 0 <= v <= 255
                                       for v in c) for c in colors):
            return None
        return [tuple(int(v) for v in c) for c in colors]

    def windows(self, width: int, height: int) -> np.ndarray:
        """``(N, 4)`` int64 xyxy windows covering a ``width x height`` image, row-major."""
        return sliding_windows(width, height, self.tile_size, self.tile_size - self.overlap)

    def resolution(self, reader: ImageReader) -> Resolution:
        """How ``reader`` is read for this model (see :func:`plan_resolution`)."""
        return plan_resolution(reader, getattr(self.model, 'pixel_size', None), self.pixel_size)

    def count_windows(self, reader: ImageReader) -> int:
        """Windows :meth:`detect` cuts ``reader`` into, at the model's pixel size."""
        view = resampled_view(reader, self.resolution(reader))
        return len(self.windows(view.width, view.height))

    def _autocast(self):
        """The reduced precision of ``fp16`` for the model's device (nothing without it)."""
        if not self.fp16:
            return nullcontext()
        param = next(self.model.parameters(), None)
        device_type = param.device.type if param is not None else 'cpu'
        if device_type not in HALF_DTYPES:
            raise ValueError(f'fp16 (--fp16): no reduced precision for device {device_type!r}; '
                             f'use one of {", ".join(HALF_DTYPES)}')
        if not self._logged_fp16:
            logger.info('fp16: %s backbone and neck, float32 head and NMS',
                        HALF_DTYPES[device_type])
            self._logged_fp16 = True
        return half_precision_features(self.model, device_type)

    @torch.no_grad()
    def predict_tiles(self, tiles: Sequence[np.ndarray]
                      ) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Run the model on equally sized BGR uint8 tiles, as mmdet's test pipeline would feed it.

        Returns:
            List[Tuple[np.ndarray, np.ndarray, np.ndarray]]: Per tile, ``(N, 4)`` float32
            boxes in tile coordinates, ``(N,)`` float32 scores and ``(N,)`` int64 labels
            (the model's class indices).
        """
        inputs, samples = [], []
        for tile in tiles:
            inputs.append(torch.from_numpy(np.ascontiguousarray(tile)).permute(2, 0, 1))
            shape = tuple(tile.shape[:2])
            samples.append(DetDataSample(
                metainfo=dict(img_shape=shape, ori_shape=shape, scale_factor=(1.0, 1.0))))
        with self._autocast():
            results = self.model.test_step(dict(inputs=inputs, data_samples=samples))
        outputs = []
        for result in results:
            pred = result.pred_instances
            bboxes = pred.bboxes.float().cpu().numpy().astype(np.float32)
            scores = pred.scores.float().cpu().numpy().astype(np.float32)
            labels = (pred.labels.cpu().numpy().astype(np.int64) if 'labels' in pred
                      else np.zeros(len(scores), np.int64))
            outputs.append((bboxes, scores, labels))
        return outputs

    def _keep_classes(self, labels: np.ndarray, label_map: Optional[np.ndarray]) -> np.ndarray:
        """Output labels of model labels: -1 for a dropped class, 0 for all without a map.

        Raises:
            ValueError: For a label the model's class names do not cover.
        """
        if label_map is None:
            return np.zeros(len(labels), np.int64)
        if len(labels) and (labels.min() < 0 or labels.max() >= len(label_map)):
            raise ValueError(
                f'{self._model_description()} predicted class {int(labels.max())} but its '
                f"dataset_meta['classes'] names {len(label_map)}: the checkpoint and config "
                'disagree on the classes')
        return label_map[labels]

    def tissue_windows(self, view: ImageReader,
                       tissue: Optional[TissueMask]) -> Tuple[np.ndarray, np.ndarray, int]:
        """The windows of ``view`` (the input at the model's pixel size) to run: those holding
        any tissue (all without a mask), their cores in the full grid (:func:`window_cores`)
        and the number skipped. ``tissue`` maps ``view``'s pixels
        (:meth:`TissueMask.for_view`)."""
        windows = self.windows(view.width, view.height)
        cores = window_cores(windows)
        if tissue is None:
            return windows, cores, 0
        keep = tissue.window_fractions(windows) > 0
        return windows[keep], cores[keep], int((~keep).sum())

    def detect(self, image: Union[PathLike, ImageReader],
               progress: Optional[Callable[[int], None]] = None,
               tissue: Optional[TissueMask] = None) -> Detections:
        """Detect in one whole image.

        Args:
            image: A file (opened with :func:`open_image` and closed after) or an open reader.
            progress (callable, optional): Called with the number of windows done after each
                batch.
            tissue (TissueMask, optional): Where the tissue is, in the image's level-0 pixels;
                windows without any are skipped and boxes centred on background dropped.
                Defaults to None (all).

        Returns:
            Detections: Merged boxes, scores and labels (indices into :attr:`class_names`) in
            the image's level-0 pixels.

        Raises:
            ValueError: When the model has a pixel size and the image's is unknown (see
                :func:`plan_resolution`), the image cannot be read, or a class of ``classes``
                is unknown.
        """
        if not isinstance(image, ImageReader):
            with open_image(image) as reader:
                return self.detect(reader, progress, tissue)
        reader = image
        label_map = self._label_map()
        resolution = self.resolution(reader)
        logger.log(logging.WARNING if resolution.model_pixel_size is None else logging.INFO,
                   '%s: %s', reader.path, resolution.describe())
        view = resampled_view(reader, resolution)
        view_tissue = None if tissue is None else tissue.for_view(view.to_level0)
        windows, cores, skipped = self.tissue_windows(view, view_tissue)
        tissue_fraction = None if tissue is None else tissue.tissue_fraction
        if len(windows) == 0:
            return Detections(path=reader.path, width=reader.width, height=reader.height,
                              bboxes=np.zeros((0, 4), np.float32),
                              scores=np.zeros(0, np.float32), num_tiles=0, forward_seconds=0.0,
                              skipped_tiles=skipped, tissue_fraction=tissue_fraction,
                              resolution=resolution, labels=np.zeros(0, np.int64))
        batches = [windows[i:i + self.batch_size]
                   for i in range(0, len(windows), self.batch_size)]

        def open_view() -> Tuple[ImageReader, ImageReader]:
            source = open_image(reader.path)
            return source, resampled_view(source, resolution)

        bboxes, scores, labels = [], [], []
        forward_seconds = 0.0
        for tiles in BatchPrefetcher(view, batches, self.num_workers, open_view):
            start = time.perf_counter()
            predictions = self.predict_tiles(tiles)
            forward_seconds += time.perf_counter() - start
            for tile_bboxes, tile_scores, tile_labels in predictions:
                tile_labels = self._keep_classes(tile_labels, label_map)
                keep = tile_labels >= 0
                bboxes.append(tile_bboxes[keep])
                scores.append(tile_scores[keep])
                labels.append(tile_labels[keep])
            if progress is not None:
                progress(len(tiles))
        merged_bboxes, merged_scores, merged_labels = _merge_by_class(
            bboxes, scores, labels, windows[:, :2].astype(np.float32), self.nms_iou_thr,
            self.ios_thr, cores if self.ios_thr is not None else None)
        if view_tissue is not None:
            on_tissue = view_tissue.contains((merged_bboxes[:, :2] + merged_bboxes[:, 2:]) / 2)
            merged_bboxes, merged_scores, merged_labels = (
                merged_bboxes[on_tissue], merged_scores[on_tissue], merged_labels[on_tissue])
        # The one mapping of the whole run from the view's pixels to the input's level 0.
        return Detections(path=reader.path, width=reader.width, height=reader.height,
                          bboxes=to_native(merged_bboxes, view), scores=merged_scores,
                          num_tiles=len(windows), forward_seconds=forward_seconds,
                          skipped_tiles=skipped, tissue_fraction=tissue_fraction,
                          resolution=resolution, labels=merged_labels)
