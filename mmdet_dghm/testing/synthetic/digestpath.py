"""Synthetic DigestPath2019-like sets in the challenge layout that the dataset reads."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
from mmengine.utils import ProgressBar

from mmdet_dghm.datasets.digestpath_layout import NEG_DIR, POS_DIR

from .rendering import render_image
from .stain import sample_stain
from .writing import prepare_dirs, tile_name, write_jpeg, write_voc


@dataclass(frozen=True)
class SyntheticSummary:
    """What :func:`generate_synthetic_digestpath` wrote.

    ``box_wh`` holds the width and height of every written box (N, 2), in XML order.
    """

    out_dir: Path
    pos_images: list
    neg_images: list
    box_wh: np.ndarray = field(repr=False)

    @property
    def num_boxes(self) -> int:
        return len(self.box_wh)


def _as_hw(image_size: Union[int, Sequence[int]]) -> tuple:
    if isinstance(image_size, (int, np.integer)):
        image_size = (image_size, image_size)
    if len(image_size) != 2 or any(int(s) < 32 for s in image_size):
        raise ValueError(f'image_size must be an int or (h, w) with sides >= 32, '
                         f'got {image_size!r}')
    return int(image_size[0]), int(image_size[1])


def _check_range(name: str, value: tuple, lo: float, hi: float) -> None:
    if len(value) != 2 or not lo <= value[0] <= value[1] <= hi:
        raise ValueError(f'{name} must be (min, max) with {lo} <= min <= max <= {hi}, '
                         f'got {value!r}')


def slide_style(seed: int, positive: bool, slide: int) -> tuple:
    """A slide's stain and the level-0 origin of its images, from the slide's own stream.

    Returns:
        tuple[StainStyle, np.ndarray]: The stain and the (x, y) origin.
    """
    rng = np.random.default_rng([seed, int(positive), 0, slide])
    return sample_stain(rng), rng.integers(5, 60, 2) * 1000


def generate_synthetic_digestpath(
        out_dir: Union[str, Path],
        num_pos: int = 24,
        num_neg: int = 24,
        image_size: Union[int, Sequence[int]] = 640,
        seed: int = 0,
        scale: float = 0.5,
        box_median_40x: float = 56.0,
        box_log_sigma: float = 0.27,
        images_per_slide: int = 4,
        src_coverage: tuple = (0.04, 0.2),
        cluster_share: tuple = (0.3, 0.8),
        lookalike_density: float = 1.0,
        mimic_coverage: Optional[tuple] = None,
        jpeg_quality: int = 90,
        overwrite: bool = False,
        progress: bool = False) -> SyntheticSummary:
    """Writes a synthetic DigestPath2019-like set in the challenge layout.

    ``out_dir/sig-train-pos/NAME.jpeg`` + ``NAME.xml`` (complete SRC boxes) and
    ``out_dir/sig-train-neg/NAME.jpeg`` (no SRC, with look-alikes). Names follow the real
    ``<slide>-lv0-<x>-<y>-<w>-<h>.jpeg`` with slides ``synth-pos-NN`` / ``synth-neg-NN``
    holding ``images_per_slide`` images each; ``x, y, w, h`` are level-0 (40x) coordinates,
    so ``w = image width / scale`` as in the real half-scale copy.

    Args:
        out_dir: Destination root.
        num_pos: Positive (annotated) images. Defaults to 24.
        num_neg: Negative images. Defaults to 24.
        image_size: Image side or (h, w) in pixels at ``scale``. Defaults to 640.
        seed: Seed of everything; same arguments give identical bytes. Defaults to 0.
        scale: Magnification relative to 40x; SRC boxes have median
            ``box_median_40x * scale`` px. Defaults to 0.5 (the real half-scale copy).
        box_median_40x: Median SRC box size ``sqrt(w * h)`` at 40x. Defaults to 56.0.
        box_log_sigma: Log-normal spread of box sizes (0.27 gives 5-95 percentiles of
            about 0.64-1.56 x median, as in the real data). Defaults to 0.27.
        images_per_slide: Images sharing a slide id (and stain). Defaults to 4.
        src_coverage: Range of the share of a positive image's area covered by SRC boxes.
            Defaults to (0.04, 0.2).
        cluster_share: Range of the share of SRCs in crowded clusters. Defaults to
            (0.3, 0.8).
        lookalike_density: Multiplier on the number of look-alikes. Defaults to 1.0.
        mimic_coverage: Range of the share of every image's area covered by unannotated
            SRC mimics (mucin cells with a faint crescent, :func:`render_cell_types`),
            positive and negative images alike. Defaults to None (none; every other draw, so
            the image, unchanged).
        jpeg_quality: JPEG quality 1-100. Defaults to 90.
        overwrite: Replace .jpeg/.xml files already in the two folders; without it a
            non-empty folder raises. Defaults to False.
        progress: Show a progress bar. Defaults to False.

    Returns:
        SyntheticSummary: Written paths and every box's width and height.
    """
    hw = _as_hw(image_size)
    if num_pos < 0 or num_neg < 0 or num_pos + num_neg == 0:
        raise ValueError(f'num_pos and num_neg must be >= 0 and not both 0, '
                         f'got {num_pos}, {num_neg}')
    if scale <= 0 or box_median_40x <= 0 or box_log_sigma < 0:
        raise ValueError(f'scale and box_median_40x must be > 0 and box_log_sigma >= 0, '
                         f'got {scale}, {box_median_40x}, {box_log_sigma}')
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    if images_per_slide < 1:
        raise ValueError(f'images_per_slide must be >= 1, got {images_per_slide}')
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f'jpeg_quality must be in [1, 100], got {jpeg_quality}')
    _check_range('src_coverage', src_coverage, 0.0, 1.0)
    _check_range('cluster_share', cluster_share, 0.0, 1.0)
    if mimic_coverage is not None:
        _check_range('mimic_coverage', mimic_coverage, 0.0, 1.0)
    out_dir = Path(out_dir)
    prepare_dirs(out_dir, overwrite)

    jobs = [(True, i) for i in range(num_pos)] + [(False, i) for i in range(num_neg)]
    pos_images, neg_images, box_wh = [], [], []
    bar = ProgressBar(len(jobs)) if progress else None
    for positive, i in jobs:
        # One independent stream per slide and per image: an image does not depend on how
        # many images precede it, so changing num_neg leaves the positive images unchanged.
        stain, origin = slide_style(seed, positive, i // images_per_slide)
        rng = np.random.default_rng([seed, int(positive), 1, i])
        rgb, boxes = render_image(rng, hw, stain.jitter(rng), positive,
                                  box_median=box_median_40x * scale,
                                  box_log_sigma=box_log_sigma, src_coverage=src_coverage,
                                  cluster_share=cluster_share,
                                  lookalike_density=lookalike_density,
                                  mimic_coverage=mimic_coverage)
        name = tile_name(positive, i, hw, scale, images_per_slide, origin)
        jpeg = out_dir / (POS_DIR if positive else NEG_DIR) / f'{name}.jpeg'
        write_jpeg(jpeg, rgb, jpeg_quality)
        if positive:
            written = write_voc(jpeg.with_suffix('.xml'), jpeg.name, hw, boxes)
            box_wh.append(written[:, 2:] - written[:, :2])
            pos_images.append(jpeg)
        else:
            neg_images.append(jpeg)
        if bar is not None:
            bar.update()
    wh = np.concatenate(box_wh) if box_wh else np.zeros((0, 2), np.int64)
    return SyntheticSummary(out_dir, pos_images, neg_images, wh)
