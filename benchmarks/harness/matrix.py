"""The run matrix of a benchmark invocation, its preparation and its (parallel) execution."""
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .profiles import MISSING_RATES, SELF_TRAINING, Profile
from .runs import REPO, RESULT_FILE, SPEC_FILE, RunSpec, needs_reevaluation, round_one_checkpoint
from .self_training import SUMMARY_FILE, round_one


def plan_runs(protocols: Sequence[str], datasets: Dict[str, Sequence[str]],
              data_roots: Dict[str, str], losses: Sequence[str], seeds: Sequence[int],
              folds: Sequence[int], num_folds: int, profile: Profile,
              drop_rates: Sequence[float] = MISSING_RATES) -> List[RunSpec]:
    """Every run of the matrix, ordered seed-major so that early stops leave whole seeds, and
    within a setting the self-training runs after the others (their round one among them).

    Args:
        protocols (Sequence[str]): Subset of ``('table3', 'table4')``.
        datasets (Dict[str, Sequence[str]]): Datasets of each protocol.
        data_roots (Dict[str, str]): Data root of each dataset.
        losses (Sequence[str]): Loss keys.
        seeds (Sequence[int]): Seeds.
        folds (Sequence[int]): Held-out folds (cross-validation).
        num_folds (int): Folds of the split.
        profile (Profile): The profile (its name goes into the run ids).
        drop_rates (Sequence[float]): Table 4's missing rates.

    Returns:
        list[RunSpec]: The runs, table 3 before table 4 within a seed.
    """
    losses = ([loss for loss in losses if loss not in SELF_TRAINING]
              + [loss for loss in losses if loss in SELF_TRAINING])
    runs = []
    for seed in seeds:
        for fold in folds:
            for protocol in protocols:
                rates = [0.0] if protocol == 'table3' else list(drop_rates)
                for dataset in datasets[protocol]:
                    for rate in rates:
                        for loss in losses:
                            runs.append(RunSpec(
                                protocol=protocol, dataset=dataset,
                                data_root=data_roots[dataset], loss=loss,
                                drop_rate=float(rate), fold=fold, num_folds=num_folds,
                                seed=seed, profile=profile.name))
    return runs


def prepare_run(spec: RunSpec, profile: Profile, runs_dir: Path, command: str) -> Path:
    """Create the run folder with its ``spec.json``; returns the folder.

    A finished run is left as it is (it will be skipped), and an interrupted one (a
    checkpoint, no result) will resume, unless either was made under other settings, which
    is an error rather than a silent reuse.

    Raises:
        ValueError: When the folder holds a result or a checkpoint of another spec or profile.
    """
    run_dir = runs_dir / spec.run_id

    def other_settings(path: Path) -> bool:
        record = json.loads(path.read_text())
        # Through Profile: fields added since the record was written take their defaults.
        return (record['spec'] != asdict(spec)
                or Profile(**record['profile']).to_dict() != profile.to_dict())

    if is_done(run_dir):
        if other_settings(run_dir / RESULT_FILE):
            raise ValueError(f'benchmark: {run_dir} finished with other settings than this '
                             'invocation asks for; use another --work-dir or remove that run')
        return run_dir
    if ((run_dir / 'last_checkpoint').is_file() and (run_dir / SPEC_FILE).is_file()
            and other_settings(run_dir / SPEC_FILE)):
        raise ValueError(f'benchmark: {run_dir} holds a checkpoint of other settings than this '
                         'invocation asks for; use another --work-dir or remove that run')
    run_dir.mkdir(parents=True, exist_ok=True)
    record = dict(spec=asdict(spec), profile=profile.to_dict(), command=command)
    (run_dir / SPEC_FILE).write_text(json.dumps(record, indent=2))
    return run_dir


def round_one_dependencies(specs: Sequence[RunSpec], profile: Profile,
                           runs_dir: Path) -> Dict[Path, Path]:
    """The round one each pending self-training run of an invocation waits for.

    A self-training run needs the final checkpoint of its round one (:func:`.self_training.
    round_one`): that run is planned in the same invocation (it runs first), or finished
    under ``runs_dir`` with its checkpoint. A finished self-training run, or one whose labels
    are written already, needs nothing.

    Returns:
        Dict[Path, Path]: Self-training run folder -> its round one's folder, for the round
        ones of this invocation that have not finished yet.

    Raises:
        ValueError: Naming the round one to run first, or whose checkpoint is missing.
    """
    planned = {spec.run_id for spec in specs}
    waits: Dict[Path, Path] = {}
    for spec in specs:
        run_dir = runs_dir / spec.run_id
        if (spec.loss not in SELF_TRAINING or is_done(run_dir)
                or (run_dir / SUMMARY_FILE).is_file()):
            continue
        first = round_one(spec)
        first_dir = runs_dir / first.run_id
        if first.run_id in planned and not is_done(first_dir):
            waits[run_dir] = first_dir
            continue
        try:
            round_one_checkpoint(run_dir, spec, profile)
        except RuntimeError as err:
            raise ValueError(str(err)) from err
    return waits


def is_done(run_dir: Path) -> bool:
    """A run is finished when its ``result.json`` exists."""
    return (run_dir / RESULT_FILE).is_file()


def run_environment(device: str, threads: Optional[int]) -> Dict[str, str]:
    """Environment of a run's process: ``device`` ``'cpu'`` hides the GPUs (mmengine's Runner
    then builds the model on the CPU), ``'cuda'`` leaves them visible (the Runner uses one);
    ``threads`` sets the OpenMP / MKL thread count."""
    env = dict(os.environ, MPLBACKEND='Agg')
    if device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    if threads:
        env['OMP_NUM_THREADS'] = env['MKL_NUM_THREADS'] = str(threads)
    return env


def _launch(run_dir: Path, device: str, threads: Optional[int],
            reevaluate: bool) -> subprocess.Popen:
    log = open(run_dir / 'run.log', 'a')  # a resumed run keeps its earlier attempts' log
    mode = ['--reevaluate'] if reevaluate else []
    # From the repository root, where ``python -m`` finds the ``benchmarks`` package.
    return subprocess.Popen(
        [sys.executable, '-m', 'benchmarks.harness.runs', *mode, str(run_dir)],
        cwd=str(REPO), env=run_environment(device, threads), stdout=log,
        stderr=subprocess.STDOUT)


def time_left(durations: Sequence[float], pending: int, elapsed: Sequence[float],
              parallel: int) -> Optional[float]:
    r"""Seconds until a matrix finishes, from the runs that finished so far.

    Every pending run is taken to last the mean duration :math:`d` of the finished ones and
    every running one :math:`\max(d - e, 0)` more after its elapsed :math:`e`; the work is
    shared by as many workers as can be busy: :math:`(P d + \sum_i \max(d - e_i, 0)) /
    \min(parallel, P + R)` with :math:`P` pending and :math:`R` running runs.

    Args:
        durations: Seconds each finished run took.
        pending: Runs not started.
        elapsed: Seconds each running run has run.
        parallel: Runs at a time.

    Returns:
        float or None: The estimate; None before a run finished, 0 when nothing is left.
    """
    if not pending and not elapsed:
        return 0.0
    if not durations:
        return None
    d = sum(durations) / len(durations)
    work = pending * d + sum(max(d - e, 0.0) for e in elapsed)
    return work / max(1, min(parallel, pending + len(elapsed)))


def _duration_text(seconds: float) -> str:
    return f'{seconds:.0f} s' if seconds < 90 else f'{seconds / 60:.0f} min'


def execute_runs(run_dirs: Sequence[Path], parallel: int = 1, device: str = 'cpu',
                 threads: Optional[int] = None, log=print,
                 reevaluate: bool = False,
                 depends_on: Optional[Dict[Path, Path]] = None) -> Dict[str, int]:
    """Execute pending runs, ``parallel`` at a time, each in its own process, logging each
    run's start and end with the count finished and an estimate of the time left
    (:func:`time_left`).

    With ``reevaluate``, the pending runs are instead the finished ones evaluated under
    another ``test_cfg`` than the committed config's or before a measure existed
    (:func:`runs.needs_reevaluation`, :func:`runs.reevaluate`).

    A separate process per run isolates mmengine's global state and lets ``parallel`` runs
    share one GPU. A failed or interrupted run leaves no ``result.json``: it is retried next
    time, from its latest checkpoint when it saved one, its log appended to ``run.log``.

    A run of ``depends_on`` (a self-training run -> its round one) starts once the run it
    depends on has finished, the next run that can start going first meanwhile; when that
    run fails, it is not started and counts as failed (exit code -1).

    Returns:
        Dict[str, int]: Exit code of each executed run (by folder name).
    """
    pending = [d for d in run_dirs
               if (needs_reevaluation(d) if reevaluate else not is_done(d))]
    for d in run_dirs:
        if d not in pending:
            log(f'skip ({"evaluated as today" if reevaluate else "done"}): '
                f'{d.name}')
    running: Dict[Path, subprocess.Popen] = {}
    codes: Dict[str, int] = {}
    starts: Dict[Path, float] = {}
    durations: List[float] = []
    total = len(pending)
    depends_on = depends_on or {}

    def waiting(run_dir: Path) -> bool:
        first = depends_on.get(run_dir)
        return first is not None and (first in pending or first in running)

    while pending or running:
        while len(running) < parallel:
            run_dir = next((d for d in pending if not waiting(d)), None)
            if run_dir is None:
                break
            pending.remove(run_dir)
            first = depends_on.get(run_dir)
            if first is not None and not is_done(first):
                codes[run_dir.name] = -1
                log(f'FAILED (not started) ({len(codes)}/{total}): {run_dir.name}: its round '
                    f'one {first.name} did not finish')
                continue
            log(f'start: {run_dir.name}')
            running[run_dir] = _launch(run_dir, device, threads, reevaluate)
            starts[run_dir] = time.perf_counter()
        for run_dir, proc in list(running.items()):
            code = proc.poll()
            if code is None:
                continue
            del running[run_dir]
            codes[run_dir.name] = code
            now = time.perf_counter()
            took = now - starts[run_dir]
            ok = code == 0 and is_done(run_dir)
            if ok:
                durations.append(took)
            left = time_left(durations, len(pending),
                             [now - starts[d] for d in running], parallel)
            log(f'{"done" if ok else f"FAILED (exit {code})"} ({len(codes)}/{total}): '
                f'{run_dir.name} in {took:.0f} s'
                + ('' if ok else f', see {run_dir / "run.log"}')
                + ('' if left is None or not (pending or running)
                   else f'; about {_duration_text(left)} left'))
        time.sleep(0.2)
    return codes
