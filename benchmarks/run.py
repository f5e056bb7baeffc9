"""Paper Tables 3 and 4 on our data: six losses, everything else identical.

Trains CE, focal, GHM-C, SCE, DGHM-C and DGHM-C* (``configs/digestpath/retinanet_<variant>_
fpn_<loss>_digestpath.py``) under one profile, evaluates each on whole held-out images with
``DigestPathMetric`` (and, at a controlled missing rate, on the training images for R-/T-recall),
writes ``result.json`` per run (finished runs are skipped: rerun to resume) and aggregates every
result file into ``benchmarks/RESULTS.md`` with plots.

Run from the repository root as ``python -m benchmarks`` (or ``bash tools/benchmark.sh``, which
does that from anywhere). Examples::

    # the CPU matrix (synthetic Table 4; real Table 3 when DIGESTPATH_ROOT is set)
    python -m benchmarks --profile cpu --protocol all --seeds 0 --work-dir /work/bench_runs/cpu
    # a CUDA machine: six concurrent runs share its GPU
    python -m benchmarks --profile paper --protocol table3 --device cuda --parallel 6 \
        --threads 2 --num-workers 2 ...
    # rebuild RESULTS.md from the result files only (as python -m benchmarks.report does)
    python -m benchmarks --report-only --work-dir /work/bench_runs/cpu
    # cross-validation: mean ± std over folds
    python -m benchmarks --profile cpu --protocol table3 --folds 0 1 2 3 4 ...
    # re-score finished runs whose evaluation predates the configs' test_cfg (re-train those
    # without a checkpoint), then rebuild the report
    python -m benchmarks --reevaluate --work-dir /work/bench_runs/cpu
    # ablation: per-level histograms, DGHM-C only (the profile becomes cpu-clslossmodeper_level)
    python -m benchmarks --profile cpu --protocol table4 --drop-rates 0.7 \
        --losses dghmc --cls-loss-mode per_level --seeds 0 1 2 3 ...
    # any recipe field or model key (the profile becomes converge-iters8000-neckoutchannels64)
    python -m benchmarks --profile converge --cfg-options iters=8000 \
        model.neck.out_channels=64 model.bbox_head.in_channels=64 ...
    # one round of self-training over CE and over PU: each labels the training images with the
    # final checkpoint of the plain run of its loss (same seed; listed, it runs first), then
    # trains that loss from scratch on them; CE and PU must keep their checkpoints until then
    python -m benchmarks --profile converge --protocol table4 --datasets synthetic \
        --drop-rates 0.7 --losses ce pu selftrain-ce selftrain-pu --seeds 0 1 2 ...
    # the same backbone and neck in Faster R-CNN (configs/digestpath/faster-rcnn_*; the profile
    # becomes converge-detectorfaster-rcnn): CE, DGHM-C on the RPN only, DGHM-C and PU on both
    # stages, each paired with this detector's CE run
    python -m benchmarks --profile converge --detector faster-rcnn --protocol table4 \
        --datasets synthetic --drop-rates 0.7 --losses ce dghmc-rpn dghmc pu --seeds 0 1 2 ...
"""
import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Optional

from mmengine.config import DictAction

from . import report as benchmark_report
from .harness.ablations import find_ablations
from .harness.matrix import execute_runs, plan_runs, prepare_run, round_one_dependencies
from .harness.profiles import (
    ALL_LOSSES,
    DETECTORS,
    LOSSES,
    MISSING_RATES,
    PROFILES,
    Profile,
    cfg_option_overrides,
    get_profile,
)
from .harness.records import RESULT_FILE, recorded_profiles
from .harness.runs import REPO, loss_config_path

#: The command that runs this module, as the run records and the report print it.
COMMAND = ('python', '-m', 'benchmarks')

#: Datasets each protocol uses per profile: on the CPU the real split's Table 3 only (the
#: real data's Table 4 needs the GPU's schedule), synthetic everywhere for smoke tests.
DEFAULT_DATASETS: Dict[str, Dict[str, List[str]]] = {
    'smoke': {'table3': ['synthetic'], 'table4': ['synthetic']},
    'cpu': {'table3': ['real'], 'table4': ['synthetic']},
    'cpu-real': {'table3': ['real'], 'table4': ['real']},
    'converge': {'table3': ['real'], 'table4': ['synthetic']},
    'gpu-real': {'table3': ['real'], 'table4': ['real']},
    'paper': {'table3': ['real'], 'table4': ['real']},
}
SYNTHETIC_DONE = '.complete'


#: The command-line flags that override the profile field of the same name, with their
#: argparse settings; an unset flag (None) keeps the profile's value.
PROFILE_FLAG_ARGS: Dict[str, dict] = {
    **{name: dict(type=kind, default=None, help=f"override the profile's {name}")
       for name, kind in (('iters', int), ('batch_size', int), ('crop_size', int),
                          ('lr', float), ('num_workers', int), ('val_interval', int),
                          ('warmup_iters', int))},
    'pretrained': dict(action='store_true', default=None,
                       help="start the backbone from torchvision's ImageNet ResNet-18 (needs "
                       'the weights in the torch cache or network access)'),
    'pos_fraction': dict(type=float, default=None,
                         help="override the profile's share of positive tiles per batch"),
    'cls_loss_mode': dict(choices=('all_levels', 'per_level'), default=None,
                          help='ablation: histogram over all FPN levels or per level'),
    'density': dict(choices=('paper', 'normalized', 'rescaled'), default=None,
                    help='ablation: DGHMCLoss gradient density (DGHM-C losses only)'),
    'mu_noisy': dict(type=float, default=None,
                     help='ablation: DGHMCLoss mu_n (DGHM-C losses only)'),
    'mu_clean': dict(type=float, default=None,
                     help='ablation: DGHMCLoss mu_c (DGHM-C losses only)'),
    'pu_missing_rate': dict(type=float, default=None,
                            help="ablation: PULoss missing_rate, which sets its class prior "
                            "(the config's 0.7 is the Table 4 rate; PU runs only)"),
    'momentum': dict(type=float, default=None,
                     help='ablation: moving-average momentum of the gradient-density counts '
                     "(GHM-C and DGHM-C losses only; mmdet's GHM config uses 0.75)"),
    'detector': dict(choices=DETECTORS, default=None,
                     help="the detector the losses train on (default: the profile's, "
                     'retinanet); faster-rcnn takes the losses ce, dghmc-rpn, dghmc and pu'),
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--profile', choices=sorted(PROFILES), default='cpu')
    p.add_argument('--protocol', choices=('table3', 'table4', 'all'), default='all')
    p.add_argument('--datasets', nargs='+', choices=('synthetic', 'real'),
                   help='datasets for every protocol (default: per profile, see '
                   'DEFAULT_DATASETS)')
    p.add_argument('--losses', nargs='+', choices=ALL_LOSSES, default=list(LOSSES))
    p.add_argument('--seeds', nargs='+', type=int, default=[0])
    p.add_argument('--folds', nargs='+', type=int, default=[0],
                   help='held-out folds; several give mean ± std over folds (paper Tables 1, '
                   '3, 5 use 5-fold cross-validation)')
    p.add_argument('--num-folds', type=int, default=5)
    p.add_argument('--drop-rates', nargs='+', type=float, default=list(MISSING_RATES),
                   help='missing rates of the Table 4 protocol')
    p.add_argument('--work-dir', default='work_dirs/benchmark',
                   help='runs go to WORK_DIR/runs/<run id>/')
    p.add_argument('--data-root', default=None,
                   help='real half-scale split (default: $DIGESTPATH_ROOT/half-scale)')
    p.add_argument('--synthetic-root', default=None,
                   help='synthetic data (default: WORK_DIR/synthetic_<profile>, generated '
                   'when missing)')
    p.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                   help="device of every run: cpu hides the machine's GPUs from the run "
                   "processes, cuda lets mmengine's Runner place each run on the GPU (the "
                   '--parallel runs share it); refused where torch sees no CUDA device')
    p.add_argument('--parallel', '--jobs', dest='parallel', type=int, default=1,
                   help='runs executed concurrently, each in its own process')
    p.add_argument('--threads', type=int, default=None,
                   help="OMP/MKL threads per run (default: torch's own)")
    for name, kwargs in PROFILE_FLAG_ARGS.items():
        p.add_argument('--' + name.replace('_', '-'), **kwargs)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   metavar='KEY=VALUE',
                   help='override recipe fields (iters=8000 syn_mimic_coverage=0.3) or keys of '
                   'the model config (model.neck.out_channels=64); like the flags above, a '
                   'changed value renames the profile, so its runs get run ids of their own')
    p.add_argument('--reevaluate', action='store_true',
                   help='re-evaluate every finished run under --work-dir whose result was '
                   "evaluated under another test_cfg than the committed config's or lacks a "
                   'measure the evaluation reports today (from its checkpoint; re-trained '
                   'without one), keeping the replaced metrics')
    p.add_argument('--report-only', action='store_true',
                   help='only aggregate the result files under --work-dir (and '
                   '--extra-results) into RESULTS.md')
    p.add_argument('--no-report', action='store_true', help='do not write RESULTS.md')
    p.add_argument('--extra-results', nargs='*', default=[],
                   help='more work dirs whose result files join the report (e.g. GPU runs)')
    p.add_argument('--report-dir', default=str(REPO / 'benchmarks'))
    p.add_argument('--recipe-runs', nargs='*', default=[],
                   help='run folders of recipe experiments (intermediate evaluations) whose '
                   'learning curves the report shows')
    p.add_argument('--grad-hist', action='store_true',
                   help='with the report: gradient-norm histograms of the CE and DGHM-C '
                   'models of the highest missing rate (paper figures 3 and 6)')
    return p.parse_args(argv)


def command_line(argv: List[str]) -> str:
    """The invocation as a copy-pasteable shell command."""
    return ' '.join(shlex.quote(a) for a in [*COMMAND, *argv])


def check_device(device: str) -> None:
    """``--device cuda`` where torch sees no CUDA device is an error, not a silent CPU run."""
    if device != 'cuda':
        return
    import torch
    if not torch.cuda.is_available():
        raise SystemExit(f'benchmark: --device cuda, but torch {torch.__version__} sees no CUDA '
                         'device here (torch.cuda.is_available() is False)')


def real_root(args: argparse.Namespace) -> str:
    """The real half-scale split; a clear error when it is not configured."""
    if args.data_root:
        root = Path(args.data_root)
    elif os.environ.get('DIGESTPATH_ROOT'):
        root = Path(os.environ['DIGESTPATH_ROOT']) / 'half-scale'
    else:
        raise SystemExit('benchmark: the real dataset needs --data-root or DIGESTPATH_ROOT '
                         '(or pass --datasets synthetic)')
    if not root.is_dir():
        raise SystemExit(f'benchmark: real data root {root} is not a folder')
    return str(root)


def synthetic_root(args: argparse.Namespace, profile: Profile) -> str:
    """The synthetic data set, generated once per profile into the work directory."""
    from mmdet_dghm.testing import generate_synthetic_digestpath
    if args.synthetic_root:
        return args.synthetic_root
    root = Path(args.work_dir) / f'synthetic_{args.profile}'
    settings = dict(num_pos=profile.syn_num_pos, num_neg=profile.syn_num_neg,
                    image_size=profile.syn_image_size, scale=profile.syn_scale,
                    images_per_slide=profile.syn_images_per_slide, seed=0)
    if profile.syn_lookalike_density != 1.0:
        settings['lookalike_density'] = profile.syn_lookalike_density
    if profile.syn_mimic_coverage > 0:
        settings['mimic_coverage'] = (profile.syn_mimic_coverage / 2, profile.syn_mimic_coverage)
    done = root / SYNTHETIC_DONE
    if done.is_file():
        written = json.loads(done.read_text())
        if written != json.loads(json.dumps(settings)):
            raise ValueError(f'benchmark: {root} holds synthetic data made with {written}, '
                             f'but profile {profile.name} asks for {settings}; use another '
                             '--work-dir (its runs were trained on the data there)')
    else:
        print(f'generating synthetic data in {root}', flush=True)
        generate_synthetic_digestpath(root, overwrite=True, progress=True, **settings)
        done.write_text(json.dumps(settings))
    return str(root)


def grad_histograms(work_dirs: List[Path], out_dir: Path) -> List[Path]:
    """Histograms of the CE and DGHM-C models of one Table 4 setting per profile (ablation
    runs left out), written to ``out_dir/figures/grad_hist/<profile>_<dataset>_<loss>.png``
    with their JSON: synthetic data first, then the highest missing rate, the first seed and
    fold; [] without such runs (runs whose folder holds no checkpoint, such as committed GPU
    records, are left out).
    A histogram whose JSON already names the same checkpoint is kept, not recomputed.
    """
    from .harness.grad_histogram import gradient_histogram
    found = [(path, json.loads(path.read_text()))
             for work_dir in work_dirs for path in sorted(work_dir.rglob(RESULT_FILE))]
    # The report shows ablations beside their reference: no histogram of their own.
    ablations = find_ablations(recorded_profiles(result for _, result in found))
    runs: Dict[str, dict] = {}
    for path, result in found:
        if result['profile']['name'] in ablations:
            continue
        # The histograms read RetinaNet's dense head.
        if result['profile'].get('detector', 'retinanet') != 'retinanet':
            continue
        spec = result['spec']
        # Committed records of runs made elsewhere (GPU runs) carry no checkpoint.
        if not (path.parent / 'last_checkpoint').is_file():
            continue
        if spec['protocol'] == 'table4' and spec['loss'] in ('ce', 'dghmc'):
            setting = (spec['dataset'] == 'synthetic', spec['drop_rate'], -spec['seed'],
                       -spec['fold'])
            runs.setdefault(spec['profile'], {})[setting + (spec['loss'], )] = (
                path.parent, spec)
    pngs = []
    for profile in sorted(runs):
        best = max(key[:-1] for key in runs[profile])
        for loss in ('ce', 'dghmc'):
            if best + (loss, ) not in runs[profile]:
                continue
            run_dir, spec = runs[profile][best + (loss, )]
            checkpoint = (run_dir / 'last_checkpoint').read_text().strip()
            png = out_dir / benchmark_report.GRAD_HIST_DIR / (
                f'{profile}_{spec["dataset"]}_{loss}.png')
            png.parent.mkdir(parents=True, exist_ok=True)
            done = png.with_suffix('.json')
            if (png.is_file() and done.is_file()
                    and json.loads(done.read_text()).get('checkpoint') == checkpoint):
                print(f'gradient histogram {png}: up to date', flush=True)
                pngs.append(png)
                continue
            record = gradient_histogram(
                str(run_dir / 'config.py'), checkpoint, png,
                title=f'{loss}: {spec["dataset"]}, missing rate {spec["drop_rate"]:.1f}, '
                f'{profile} profile, seed {spec["seed"]}')
            print(f'gradient histogram {png}: {record["num_valid"]} anchors', flush=True)
            pngs.append(png)
    return pngs


def check_configs(losses: List[str], profile: Profile) -> None:
    """Every loss has a committed config for the profile's variant and detector.

    Raises:
        SystemExit: Naming the first missing config and the losses that have one, or an
            unknown detector.
    """
    try:
        paths = {loss: loss_config_path(loss, profile.variant, profile.detector)
                 for loss in ALL_LOSSES}
    except ValueError as err:
        raise SystemExit(str(err)) from err
    missing = [loss for loss in losses if not paths[loss].is_file()]
    if missing:
        have = [loss for loss in ALL_LOSSES if paths[loss].is_file()]
        raise SystemExit(f'benchmark: no config for {", ".join(missing)} on detector '
                         f'{profile.detector} ({paths[missing[0]].relative_to(REPO)} does not '
                         f'exist); losses with a config: {", ".join(have)}')


def resolve_profile(args: argparse.Namespace) -> Profile:
    """The profile of ``args.profile`` with the override flags and ``--cfg-options`` applied.

    Raises:
        SystemExit: Naming the key, for an invalid ``--cfg-options`` entry or one that
            contradicts a flag.
    """
    overrides = {name: getattr(args, name) for name in PROFILE_FLAG_ARGS}
    try:
        options = cfg_option_overrides(get_profile(args.profile), args.cfg_options)
    except ValueError as err:
        raise SystemExit(str(err)) from err
    for key, value in options.items():
        if overrides.get(key) not in (None, value):
            raise SystemExit(f'--cfg-options {key}={value!r} contradicts '
                             f'--{key.replace("_", "-")} {overrides[key]!r}')
        overrides[key] = value
    return get_profile(args.profile, **overrides)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    work_dir = Path(args.work_dir)
    report_dir = Path(args.report_dir)
    work_dirs = [work_dir] + [Path(d) for d in args.extra_results]
    failed: List[str] = []
    if args.reevaluate or not args.report_only:
        check_device(args.device)
    if args.reevaluate:
        run_dirs = sorted(p.parent for p in (work_dir / 'runs').glob(f'*/{RESULT_FILE}'))
        codes = execute_runs(run_dirs, parallel=args.parallel, device=args.device,
                             threads=args.threads, log=lambda m: print(m, flush=True),
                             reevaluate=True)
        failed = sorted(name for name, code in codes.items() if code != 0)
    elif not args.report_only:
        profile = resolve_profile(args)
        check_configs(args.losses, profile)
        protocols = ['table3', 'table4'] if args.protocol == 'all' else [args.protocol]
        datasets = {p: list(args.datasets or DEFAULT_DATASETS[args.profile][p])
                    for p in protocols}
        needed = {d for p in protocols for d in datasets[p]}
        roots = {}
        if 'real' in needed:
            roots['real'] = real_root(args)
        if 'synthetic' in needed:
            roots['synthetic'] = synthetic_root(args, profile)
        runs = plan_runs(protocols, datasets, roots, args.losses, args.seeds, args.folds,
                         args.num_folds, profile, args.drop_rates)
        command = command_line(argv)
        try:
            waits = round_one_dependencies(runs, profile, work_dir / 'runs')
        except ValueError as err:
            raise SystemExit(str(err)) from err
        run_dirs = [prepare_run(spec, profile, work_dir / 'runs', command) for spec in runs]
        print(f'{len(run_dirs)} runs ({sum(not (d / RESULT_FILE).is_file() for d in run_dirs)}'
              f' to do) under {work_dir / "runs"}', flush=True)
        codes = execute_runs(run_dirs, parallel=args.parallel, device=args.device,
                             threads=args.threads, log=lambda m: print(m, flush=True),
                             depends_on=waits)
        failed = sorted(name for name, code in codes.items() if code != 0)
    if failed:
        print(f'{len(failed)} runs failed: {", ".join(failed)}', flush=True)
    if args.no_report:
        return 1 if failed else 0
    pngs = grad_histograms(work_dirs, report_dir) if args.grad_hist else None
    report = benchmark_report.write(work_dirs, report_dir, grad_histograms=pngs,
                                    recipe_runs=[Path(d) for d in args.recipe_runs])
    print(f'report: {report}', flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
