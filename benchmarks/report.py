"""``python -m benchmarks.report``: ``RESULTS.md`` and its figures from the run records.

A function of its inputs alone: the records under ``--work-dir`` (each run's ``result.json``
and mmengine scalars log), the data records committed beside the report
(``loss_settings.json``, gradient-norm histograms under ``figures/grad_hist/``) and the written
sections it includes (``analysis.md``, ...). It imports no model code and reads no recipe, so
the same records give the same report::

    python -m benchmarks.report --work-dir benchmarks/converge_runs

``python -m benchmarks --report-only`` does the same after its own options.
"""
import argparse
import shlex
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from .harness.report import LOSS_SETTINGS_FILE, write_report

BENCH = Path(__file__).resolve().parent
#: Written sections included verbatim, in this order, from the folder beside the report.
SECTIONS = ('analysis.md', 'step_time_recipes.md', 'step_time_losses.md',
            'density_scaling.md', 'loss_benchmark.md', 'inference_overhead.md')
#: Where the run tool puts gradient-norm histograms, under the report's folder.
GRAD_HIST_DIR = Path('figures') / 'grad_hist'


def report_command(work_dirs: Sequence[Path], recipe_runs: Sequence[Path] = ()) -> str:
    """The command that regenerates a report from these inputs (written in it)."""
    args = ['--work-dir', *map(str, work_dirs)]
    if recipe_runs:
        args += ['--recipe-runs', *map(str, recipe_runs)]
    return 'python -m benchmarks.report ' + shlex.join(args)


def write(work_dirs: Sequence[Path], report_dir: Path = BENCH, *,
          grad_histograms: Optional[Sequence[Path]] = None, recipe_runs: Sequence[Path] = (),
          figures: bool = True, inputs_dir: Path = BENCH) -> Path:
    """Write ``report_dir/RESULTS.md`` (and its figures unless ``figures`` is False).

    Args:
        work_dirs (Sequence[Path]): Folders of run records.
        report_dir (Path): Destination.
        grad_histograms (Sequence[Path], optional): Histogram PNGs to show; by default those
            under ``report_dir/figures/grad_hist``.
        recipe_runs (Sequence[Path]): Run folders of recipe experiments.
        figures (bool): Draw the figures.
        inputs_dir (Path): Folder of the written sections and ``loss_settings.json``.
    """
    report_dir = Path(report_dir)
    if grad_histograms is None:
        grad_histograms = sorted((report_dir / GRAD_HIST_DIR).glob('*.png'))
    settings = Path(inputs_dir) / LOSS_SETTINGS_FILE
    return write_report(work_dirs, report_dir, report_command(work_dirs, recipe_runs),
                        sections=[Path(inputs_dir) / name for name in SECTIONS],
                        grad_histograms=grad_histograms, recipe_runs=recipe_runs,
                        loss_settings=settings if settings.is_file() else None,
                        figures=figures)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', type=Path, nargs='+', required=True,
                   help='folders of run records (result.json and logs)')
    p.add_argument('--report-dir', type=Path, default=BENCH,
                   help='where RESULTS.md and figures/ go (default: benchmarks/)')
    p.add_argument('--recipe-runs', type=Path, nargs='*', default=[],
                   help='run folders of recipe experiments whose learning curves the report '
                   'shows')
    p.add_argument('--no-figures', action='store_true',
                   help='write RESULTS.md only (the same text, without drawing its figures)')
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    path = write(args.work_dir, args.report_dir, recipe_runs=args.recipe_runs,
                 figures=not args.no_figures)
    print(f'report: {path}', flush=True)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
