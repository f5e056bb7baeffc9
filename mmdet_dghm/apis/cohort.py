"""Cohort runs: many slides, resumable, one summary table a pathologist can triage from.

Each slide's outputs are written first and a completion marker ``<stem>.done.json`` last (by
an atomic rename), so a slide counts as finished only when the marker exists and every output
it lists does: an interrupted run leaves no marker and the slide is redone. A slide that
cannot be read is recorded with its error and the rest run on.
"""
import csv
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from tqdm import tqdm

from ..fileio import open_image
from .exporters import export_detections
from .inference import TiledDetector
from .tissue_mask import MIN_SATURATION, TissueMask

SUMMARY_NAME = 'summary.csv'
MARKER_SUFFIX = '.done.json'


@dataclass
class SlideSummary:
    """One row of the cohort summary.

    Attributes:
        slide (str): The input file.
        status (str): 'done' (run now), 'resumed' (finished by an earlier run) or 'error'.
        pixel_size_um (float, optional): Micrometres per pixel of the input; None if unknown.
        tissue_area_mm2 (float, optional): Tissue area (the whole image without a tissue
            mask); None when the pixel size is unknown.
        detections (int): Detections scoring at least the operating threshold.
        per_mm2 (float, optional): ``detections / tissue_area_mm2``; None without an area.
        windows (int): Windows the model ran on.
        skipped_windows (int): Windows skipped as background.
        seconds (float): Wall time of the slide (reading, inference, writing).
        resolution (str): How the slide was read for the model (pixel sizes, level, factor).
        error (str): The error of a failed slide, else empty.
    """

    slide: str
    status: str
    pixel_size_um: Optional[float] = None
    tissue_area_mm2: Optional[float] = None
    detections: int = 0
    per_mm2: Optional[float] = None
    windows: int = 0
    skipped_windows: int = 0
    seconds: float = 0.0
    resolution: str = ''
    error: str = ''


def marker_path(out_dir: Path, stem: str) -> Path:
    """The completion marker of the slide named ``stem``."""
    return Path(out_dir) / f'{stem}{MARKER_SUFFIX}'


def finished_summary(out_dir: Path, stem: str) -> Optional[SlideSummary]:
    """The summary a finished slide's marker holds, or None when the slide must be (re)run:
    no marker, an unreadable one, or one of the outputs it lists missing."""
    marker = marker_path(out_dir, stem)
    try:
        record = json.loads(marker.read_text(encoding='utf-8'))
        outputs = [Path(out_dir) / name for name in record['outputs']]
        summary = SlideSummary(**record['summary'])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all(path.is_file() for path in outputs):
        return None
    summary.status = 'resumed'
    return summary


def write_marker(out_dir: Path, stem: str, summary: SlideSummary, outputs: Sequence[Path]) -> None:
    """Write the completion marker atomically (temporary file, then rename)."""
    marker = marker_path(out_dir, stem)
    tmp = marker.with_name(marker.name + '.tmp')
    tmp.write_text(json.dumps(dict(summary=asdict(summary),
                                   outputs=[Path(p).name for p in outputs])), encoding='utf-8')
    os.replace(tmp, marker)


def run_slide(detector: TiledDetector, slide: Path, out_dir: Path, score_thr: float,
              use_tissue_mask: bool = True,
              min_saturation: int = MIN_SATURATION, max_overview_size: int = 2048,
              progress: Optional[Callable[[int], None]] = None) -> SlideSummary:
    """Detect in one slide, write its outputs and marker, and summarise it.

    The overview (read once from the reader, in chunks: :meth:`ImageReader.read_overview`) is
    the thumbnail the tissue mask is computed on and the image the PNGs are drawn on.
    The pixel size is the input's as the detector used it (``--pixel-size`` or the file's).

    Args:
        detector (TiledDetector): The detector.
        slide (Path): The input image.
        out_dir (Path): Output folder.
        score_thr (float): Operating threshold: detections counted and drawn from it.
        use_tissue_mask (bool): Skip background windows and drop boxes on background.
            Defaults to True.
        min_saturation (int): Saturation floor of the tissue mask. Defaults to 25.
        max_overview_size (int): Longest side of the overview PNGs. Defaults to 2048.
        progress (callable, optional): Called with the windows done after each batch.

    Returns:
        SlideSummary: The slide's row, status 'done'.
    """
    start = time.perf_counter()
    with open_image(slide) as reader:
        overview = reader.read_overview(max_overview_size)
        tissue = (TissueMask.from_thumbnail(overview.image, overview.factor, min_saturation)
                  if use_tissue_mask else None)
        det = detector.detect(reader, progress=progress, tissue=tissue)
    pixel_size = det.resolution.input_pixel_size
    paths = export_detections(det, out_dir, slide.stem, overview=overview,
                              class_name=detector.class_name, overlay_score_thr=score_thr,
                              pixel_size=pixel_size)
    count = int((det.scores >= score_thr).sum())
    tissue_share = 1.0 if det.tissue_fraction is None else det.tissue_fraction
    area = (None if pixel_size is None else
            tissue_share * det.width * det.height * (pixel_size / 1000) ** 2)
    summary = SlideSummary(
        slide=str(slide), status='done', pixel_size_um=pixel_size, tissue_area_mm2=area,
        detections=count, per_mm2=None if not area else count / area, windows=det.num_tiles,
        skipped_windows=det.skipped_tiles, seconds=time.perf_counter() - start,
        resolution=det.resolution.describe())
    write_marker(out_dir, slide.stem, summary, list(paths.values()))
    return summary


def run_cohort(detector: TiledDetector, slides: Sequence[Path], out_dir: Path,
               score_thr: float, show_progress: bool = True,
               **slide_kwargs) -> List[SlideSummary]:
    """Run every slide not finished yet, survive failing ones, and write ``summary.csv``.

    One line per slide is printed (errors to stderr).

    Args:
        detector (TiledDetector): The detector.
        slides (Sequence[Path]): Input images; their stems name the outputs.
        out_dir (Path): Output folder (created).
        score_thr (float): Operating threshold (see :func:`run_slide`).
        show_progress (bool): tqdm bars over slides and windows. Defaults to True.
        **slide_kwargs: :func:`run_slide` options (``use_tissue_mask``, ...).

    Returns:
        List[SlideSummary]: One row per slide, in input order (also in ``summary.csv``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for slide in tqdm(slides, desc='slides', unit='slide', disable=not show_progress):
        row = finished_summary(out_dir, slide.stem)
        if row is None:
            try:
                with tqdm(desc=slide.name, unit='window', leave=False,
                          disable=not show_progress) as bar:
                    row = run_slide(detector, slide, out_dir, score_thr, progress=bar.update,
                                    **slide_kwargs)
            except (ValueError, ImportError, OSError) as err:
                row = SlideSummary(slide=str(slide), status='error',
                                   error=f'{type(err).__name__}: {err}')
        rows.append(row)
        tqdm.write(format_row(row), file=sys.stderr if row.status == 'error' else sys.stdout)
    write_summary(rows, out_dir / SUMMARY_NAME)
    return rows


def _cell(value) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value)


def format_row(row: SlideSummary) -> str:
    """One printed line per slide."""
    if row.status == 'error':
        return f'{row.slide}: error: {row.error}'
    area = 'tissue area unknown (no pixel size)' if row.tissue_area_mm2 is None else (
        f'{row.tissue_area_mm2:.3g} mm^2 tissue, {row.per_mm2:.3g} /mm^2')
    return (f'{row.slide}: {row.status}, {row.resolution}, {row.detections} detections, '
            f'{area}, {row.windows} windows ({row.skipped_windows} skipped), '
            f'{row.seconds:.1f} s')


def write_summary(rows: Sequence[SlideSummary], path: Path) -> None:
    """The summary CSV: one row per slide, the :class:`SlideSummary` fields as columns
    (unknown values empty)."""
    names = [f.name for f in fields(SlideSummary)]
    tmp = Path(path).with_name(Path(path).name + '.tmp')
    with open(tmp, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows([_cell(getattr(row, name)) for name in names] for row in rows)
    os.replace(tmp, path)


def format_summary(rows: Sequence[SlideSummary]) -> str:
    """The summary as an aligned text table (for printing)."""
    names = ['slide', 'status', 'pixel_size_um', 'tissue_area_mm2', 'detections', 'per_mm2',
             'skipped_windows', 'seconds']
    table = [names] + [[Path(row.slide).name if n == 'slide' else _cell(getattr(row, n))
                        for n in names] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(names))]
    return '\n'.join('  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)
