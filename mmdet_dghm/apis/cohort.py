"""Cohort runs: many slides, on one or many processes, resumable, one summary to triage from.

Outputs mirror the input folders (:func:`output_keys`): slide ``caseA/s1.svs`` writes
``OUT/caseA/s1.json`` and the rest. Each slide's outputs are written first (each through a
temporary file renamed into place) and a completion marker ``<key>.done.json`` last, so a
slide counts as finished only when the marker exists and every output it lists does: a
process killed mid-slide leaves no marker and the slide is redone, every finished slide
stays valid.

Any exception of one slide (an unreadable file, CUDA out of memory, a corrupt tile deep in a
pyramid) is recorded with the slide and the error (its traceback logged too, unless it is a
``ValueError``, ``OSError`` or ``ImportError``, whose messages name the file and the problem)
and the other slides run on; the summary has the slide's row with status 'error'.

Under ``torch.distributed`` (see :mod:`.distributed`) every rank computes the same plan: the
slides not finished yet and their window counts (each rank opens a stride of them, then they
are gathered), split by :func:`balanced_shards`. Each rank runs its share; then the rows of
the slides run are gathered (no rank needs to see another's files, which a network file
system may show late) and rank 0 reads the markers of the slides finished by earlier runs and
writes ``summary.csv`` for the whole cohort.
"""
import csv
import io
import json
import os
import sys
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather_object, broadcast_object_list, get_dist_info
from tqdm import tqdm

from ..fileio import PathLike, open_image
from .exporters import export_detections
from .inference import TiledDetector
from .sharding import balanced_shards
from .slide_layout import output_keys
from .tissue_mask import MIN_SATURATION, TissueMask

__all__ = ['MARKER_SUFFIX', 'SUMMARY_NAME', 'SlideSummary', 'collect_summary',
           'finished_summary', 'format_row', 'format_summary', 'marker_path', 'plan_cohort',
           'run_cohort', 'run_slide', 'write_marker', 'write_summary']

SUMMARY_NAME = 'summary.csv'
MARKER_SUFFIX = '.done.json'
# Errors whose message names the file and the problem: no traceback is logged for them.
_EXPECTED_ERRORS = (ValueError, OSError, ImportError)


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
        error (str): The error of a failed slide (``Type: message``), else empty.
        forward_seconds (float): Of ``seconds``, the time inside the model.
        output (str): The outputs' path relative to the output folder, without suffix.
        class_counts (dict): Detections at the operating threshold per class name (the
            summary CSV has a column per class when there are several).
        timings (dict): Seconds per stage: 'overview' (reading it and the tissue mask),
            'detect' (windows read, model, merging), 'forward' (model) and 'export'; and
            'cpu', the process's CPU time over the slide (all its threads).
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
    forward_seconds: float = 0.0
    output: str = ''
    class_counts: Dict[str, int] = field(default_factory=dict)
    timings: Dict[str, float] = field(default_factory=dict)


# SlideSummary fields written as CSV columns (the dicts are expanded or kept in markers).
_COLUMNS = tuple(f.name for f in fields(SlideSummary) if f.name not in ('class_counts',
                                                                           'timings'))


def marker_path(out_dir: Path, key: str) -> Path:
    """The completion marker of the slide whose outputs are named ``key``."""
    return Path(out_dir) / f'{key}{MARKER_SUFFIX}'


def _write_json_atomic(path: Path, record: dict) -> None:
    """``record`` as JSON at ``path`` through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    tmp.write_text(json.dumps(record), encoding='utf-8')
    os.replace(tmp, path)


def _read_marker(out_dir: Path, key: str,
                 class_names: Optional[Sequence[str]] = None) -> Optional[dict]:
    """A finished slide's marker record, or None when the slide must be (re)run: no marker, an
    unreadable one, an output it lists missing, or other classes than ``class_names``."""
    try:
        record = json.loads(marker_path(out_dir, key).read_text(encoding='utf-8'))
        outputs = [Path(out_dir) / name for name in record['outputs']]
        SlideSummary(**record['summary'])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if class_names is not None and 'classes' in record \
            and list(record['classes']) != list(class_names):
        return None
    if not all(path.is_file() for path in outputs):
        return None
    return record


def finished_summary(out_dir: Path, stem: str,
                     class_names: Optional[Sequence[str]] = None) -> Optional[SlideSummary]:
    """The summary a finished slide's marker holds (status 'resumed'), or None when the slide
    must be (re)run: no marker, an unreadable one, one of the outputs it lists missing, or a
    marker of other classes than ``class_names`` (when given).

    Args:
        out_dir (Path): The output folder.
        stem (str): The slide's output key (:func:`output_keys`; the stem in a flat cohort).
        class_names (Sequence[str], optional): The classes of this run.
    """
    record = _read_marker(out_dir, stem, class_names)
    if record is None:
        return None
    summary = SlideSummary(**record['summary'])
    summary.status = 'resumed'
    return summary


def write_marker(out_dir: Path, key: str, summary: SlideSummary, outputs: Sequence[Path],
                 run_id: str = '', class_names: Sequence[str] = ()) -> None:
    """Write the completion marker atomically (temporary file, then rename), listing the
    outputs relative to ``out_dir``."""
    rel = [Path(p).relative_to(out_dir).as_posix() for p in outputs]
    _write_json_atomic(marker_path(out_dir, key),
                       dict(summary=asdict(summary), outputs=rel, run_id=run_id,
                            classes=list(class_names)))


def run_slide(detector: TiledDetector, slide: Path, out_dir: Path, score_thr: float,
              use_tissue_mask: bool = True,
              min_saturation: int = MIN_SATURATION, max_overview_size: int = 2048,
              progress: Optional[Callable[[int], None]] = None, key: Optional[str] = None,
              run_id: str = '') -> SlideSummary:
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
        key (str, optional): Name of the outputs relative to ``out_dir`` (may hold folders).
            Defaults to None (the slide's stem).
        run_id (str): Identifies the run in the marker (a later run reports the slide as
            'resumed'). Defaults to ''.

    Returns:
        SlideSummary: The slide's row, status 'done'.
    """
    slide = Path(slide)
    key = slide.stem if key is None else key
    class_names = detector.class_names
    start, cpu_start = time.perf_counter(), time.process_time()
    with open_image(slide) as reader:
        overview = reader.read_overview(max_overview_size)
        tissue = (TissueMask.from_thumbnail(overview.image, overview.factor, min_saturation)
                  if use_tissue_mask else None)
        read_done = time.perf_counter()
        det = detector.detect(reader, progress=progress, tissue=tissue)
    detect_done = time.perf_counter()
    pixel_size = det.resolution.input_pixel_size
    colors = getattr(detector, 'class_colors', None)
    paths = export_detections(det, out_dir, key, overview=overview, class_names=class_names,
                              class_colors=colors, overlay_score_thr=score_thr,
                              pixel_size=pixel_size)
    above = det.scores >= score_thr
    per_class = np.bincount(det.label_array[above], minlength=len(class_names))
    count = int(above.sum())
    tissue_share = 1.0 if det.tissue_fraction is None else det.tissue_fraction
    area = (None if pixel_size is None else
            tissue_share * det.width * det.height * (pixel_size / 1000) ** 2)
    end = time.perf_counter()
    summary = SlideSummary(
        slide=str(slide), status='done', pixel_size_um=pixel_size, tissue_area_mm2=area,
        detections=count, per_mm2=None if not area else count / area, windows=det.num_tiles,
        skipped_windows=det.skipped_tiles, seconds=end - start,
        resolution=det.resolution.describe(), forward_seconds=det.forward_seconds,
        output=key, class_counts=dict(zip(class_names, per_class.tolist())),
        timings=dict(overview=read_done - start, detect=detect_done - read_done,
                     forward=det.forward_seconds, export=end - detect_done,
                     cpu=time.process_time() - cpu_start))
    write_marker(out_dir, key, summary, list(paths.values()), run_id, class_names)
    return summary


def _slide_cost(detector: TiledDetector, slide: Path) -> int:
    """Windows of ``slide`` at the model's pixel size (the full grid, before the tissue
    mask), at least 1; 1 when it cannot be opened (its run then records why)."""
    try:
        with open_image(slide) as reader:
            return max(1, detector.count_windows(reader))
    except Exception:  # the slide's own run records the error
        return 1


def plan_cohort(detector: TiledDetector, slides: Sequence[Path], keys: Sequence[str],
                out_dir: Path, show_progress: bool = False) -> List[Tuple[bool, int]]:
    """Per slide, whether it must run (no valid marker for the detector's classes) and its
    window count (0 when finished), identical on every rank.

    Each rank looks at every ``world_size``-th slide (opening a slide reads its header), and
    the results are gathered. ``show_progress``: a tqdm bar on rank 0.
    """
    rank, world = get_dist_info()
    class_names = detector.class_names
    local = {}
    for index in tqdm(range(rank, len(slides), world), desc='planning', unit='slide',
                      leave=False, disable=not (show_progress and rank == 0)):
        pending = _read_marker(out_dir, keys[index], class_names) is None
        local[index] = (pending, _slide_cost(detector, slides[index]) if pending else 0)
    merged: Dict[int, Tuple[bool, int]] = {}
    for part in all_gather_object(local):
        merged.update(part)
    return [merged[index] for index in range(len(slides))]


def _broadcast(value):
    """``value`` of rank 0 on every rank (itself without a process group)."""
    box = [value]
    broadcast_object_list(box, src=0)
    return box[0]


def collect_summary(slides: Sequence[Path], keys: Sequence[str], out_dir: Path,
                    run_id: str = '', class_names: Optional[Sequence[str]] = None,
                    ran: Optional[Dict[int, SlideSummary]] = None) -> List[SlideSummary]:
    """The cohort's rows: a slide run now has its row in ``ran`` (by index: 'done' or
    'error'); any other its marker's row, 'done' when written by ``run_id``, else 'resumed'
    (an earlier run), or, without a valid marker, an 'error' row saying it has no result.

    Returns:
        List[SlideSummary]: One row per slide, in the order given.
    """
    ran = ran or {}
    rows = []
    for index, (slide, key) in enumerate(zip(slides, keys)):
        if index in ran:
            rows.append(ran[index])
            continue
        record = _read_marker(out_dir, key, class_names)
        if record is not None:
            row = SlideSummary(**record['summary'])
            row.status = 'done' if run_id and record.get('run_id') == run_id else 'resumed'
            row.slide, row.output = str(slide), key
        else:
            row = SlideSummary(slide=str(slide), status='error', output=key,
                               error='no result: no valid marker (its outputs were removed?)')
        rows.append(row)
    return rows


def run_cohort(detector: TiledDetector, slides: Sequence[PathLike], out_dir: Path,
               score_thr: float, show_progress: bool = True,
               keys: Optional[Sequence[str]] = None, input_root: Optional[PathLike] = None,
               **slide_kwargs) -> List[SlideSummary]:
    """Run every slide not finished yet, survive failing ones, and write ``summary.csv``.

    Under ``torch.distributed`` every rank calls this with the same arguments and runs its
    share (see the module's description); without a process group one process runs all.
    One line per slide is printed (errors to stderr, prefixed by the rank when several).

    Args:
        detector (TiledDetector): The detector.
        slides (Sequence[PathLike]): Input images.
        out_dir (Path): Output folder (created).
        score_thr (float): Operating threshold (see :func:`run_slide`).
        show_progress (bool): tqdm bars over slides and windows (rank 0's). Defaults to True.
        keys (Sequence[str], optional): Output name of each slide. Defaults to None
            (:func:`output_keys` of ``slides`` and ``input_root``).
        input_root (PathLike, optional): The folder the outputs mirror. Defaults to None (the
            deepest folder holding every slide).
        **slide_kwargs: :func:`run_slide` options (``use_tissue_mask``, ...).

    Returns:
        List[SlideSummary]: One row per slide, in input order (also in ``summary.csv``), on
        every rank.
    """
    slides = [Path(s) for s in slides]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = output_keys(slides, input_root) if keys is None else list(keys)
    class_names = detector.class_names
    rank, world = get_dist_info()
    run_id = _broadcast(uuid.uuid4().hex)
    plan = plan_cohort(detector, slides, keys, out_dir, show_progress)
    pending = [i for i, (must_run, _) in enumerate(plan) if must_run]
    shares = balanced_shards([plan[i][1] for i in pending], [keys[i] for i in pending], world)
    mine = [pending[j] for j in shares[rank]]
    prefix = f'[rank {rank}] ' if world > 1 else ''
    bars = show_progress and rank == 0
    ran: Dict[int, SlideSummary] = {}
    for index in tqdm(mine, desc=f'{prefix}slides', unit='slide', disable=not bars):
        slide, key = slides[index], keys[index]
        try:
            with tqdm(desc=slide.name, unit='window', leave=False, disable=not bars) as bar:
                row = run_slide(detector, slide, out_dir, score_thr, progress=bar.update,
                                key=key, run_id=run_id, **slide_kwargs)
        except Exception as err:  # any failure of one slide is its own (see the module doc)
            row = SlideSummary(
                slide=str(slide), status='error', error=f'{type(err).__name__}: {err}',
                output=key)
            if not isinstance(err, _EXPECTED_ERRORS):
                tqdm.write(prefix + ''.join(traceback.format_exception(err)).rstrip(),
                           file=sys.stderr)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()  # e.g. after running out of memory on a large slide
        ran[index] = row
        tqdm.write(prefix + format_row(row),
                   file=sys.stderr if row.status == 'error' else sys.stdout)
    # Gathering every rank's rows is the barrier: the summary is written once all finished.
    for part in all_gather_object(ran):
        ran.update(part)
    rows = None
    if rank == 0:
        rows = collect_summary(slides, keys, out_dir, run_id, class_names, ran)
        write_summary(rows, out_dir / SUMMARY_NAME, class_names)
    return _broadcast(rows)


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
    by_class = ''
    if len(row.class_counts) > 1:
        by_class = ' (' + ', '.join(f'{n} {c}' for n, c in row.class_counts.items()) + ')'
    return (f'{row.slide}: {row.status}, {row.resolution}, {row.detections} detections'
            f'{by_class}, {area}, {row.windows} windows ({row.skipped_windows} skipped), '
            f'{row.seconds:.1f} s')


def _class_columns(class_names: Optional[Sequence[str]]) -> List[str]:
    if class_names is None or len(class_names) < 2:
        return []
    return [f'{kind}:{name}' for name in class_names for kind in ('detections', 'per_mm2')]


def write_summary(rows: Sequence[SlideSummary], path: Path,
                  class_names: Optional[Sequence[str]] = None) -> None:
    """The summary CSV: one row per slide, the :class:`SlideSummary` fields as columns
    (unknown values empty); with several ``class_names`` also ``detections:<class>`` and
    ``per_mm2:<class>`` per class. Written through a temporary file renamed into place."""
    extra = _class_columns(class_names)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(_COLUMNS) + extra)
    for row in rows:
        cells = [_cell(getattr(row, name)) for name in _COLUMNS]
        for name in (class_names if extra else ()):
            count = row.class_counts.get(name) if row.status != 'error' else None
            density = (count / row.tissue_area_mm2
                       if count is not None and row.tissue_area_mm2 else None)
            cells += [_cell(count), _cell(density)]
        writer.writerow(cells)
    tmp = Path(path).with_name(f'.{Path(path).name}.{os.getpid()}.tmp')
    tmp.write_text(buffer.getvalue(), encoding='utf-8', newline='')
    os.replace(tmp, path)


def format_summary(rows: Sequence[SlideSummary]) -> str:
    """The summary as an aligned text table (for printing)."""
    names = ['slide', 'status', 'pixel_size_um', 'tissue_area_mm2', 'detections', 'per_mm2',
             'skipped_windows', 'seconds']
    # The slide by its output path (the folders that tell same-named slides apart).
    table = [names] + [[(row.output + Path(row.slide).suffix if row.output else
                         Path(row.slide).name) if n == 'slide' else _cell(getattr(row, n))
                        for n in names] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(names))]
    return '\n'.join('  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)
