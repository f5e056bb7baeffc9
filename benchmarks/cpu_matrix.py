"""Every CPU run of the early-stopped report (``benchmarks/archive/early_stopped/``), in two
queues of one thread each (two cores).

One queue trains the real half-scale folds (needs ``DIGESTPATH_ROOT``), the other the synthetic
matrix with the DGHM-C ablations; both run at once, each invocation of ``python -m benchmarks``
after the previous one of its queue, logged to ``WORK_DIR/<queue>_queue.log``. A queue stops at
its first failed invocation. Resumable: finished runs are skipped and an interrupted one resumes
from its checkpoint, so rerun the same command after a stop. Then rebuild the report (and the
batch-size measurement)::

    DIGESTPATH_ROOT=/data/digestpath nohup python -m benchmarks.cpu_matrix \\
        --work-dir work_dirs/full-ranking &
    python -m benchmarks --report-only --grad-hist --work-dir work_dirs/full-ranking \\
        --extra-results benchmarks/archive/early_stopped/gpu_runs
    RUN=work_dirs/full-ranking/runs/cpu_table4_synthetic_drop0.70_fold0_dghmc_seed0
    python -m benchmarks.density_scaling $RUN/config.py $RUN/iter_300.pth

``--print`` lists the invocations without running them.
"""
import argparse
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

from .harness.runs import REPO

#: Ablations of DGHM-C: histogram per level; the paper's density at batch 8 and the two
#: scale-free ones (normalized, rescaled to the recipe's batch) at batch 4 and 8; mu_n and mu_c.
ABLATIONS = (['--cls-loss-mode', 'per_level'], ['--batch-size', '8'], ['--density', 'rescaled'],
             ['--batch-size', '8', '--density', 'rescaled'], ['--density', 'normalized'],
             ['--batch-size', '8', '--density', 'normalized'], ['--mu-noisy', '1.5'],
             ['--mu-noisy', '3'], ['--mu-clean', '1'])


def real_queue() -> List[List[str]]:
    """Real data, CE / GHM-C / DGHM-C: Table 4 at 70% missing, then natural annotation
    (Table 3), folds 0-2."""
    return [['--profile', 'cpu-real', '--protocol', protocol, '--datasets', 'real',
             '--drop-rates', '0.7', '--losses', 'dghmc', 'ghmc', 'ce', '--folds', str(fold),
             '--seeds', '0']
            for protocol in ('table4', 'table3') for fold in (0, 1, 2)]


def synthetic_queue(work_dir: Path) -> List[List[str]]:
    """Synthetic Table 4 at 70% missing: every loss on seeds 0 and 1, CE / GHM-C / DGHM-C on
    seeds 2 and 3, then each DGHM-C ablation on two seeds, then on seeds 2 and 3."""
    syn = ['--profile', 'cpu', '--protocol', 'table4', '--datasets', 'synthetic',
           '--drop-rates', '0.7', '--synthetic-root', str(work_dir / 'synthetic_cpu')]
    queue = [syn + ['--losses', 'dghmc', 'ghmc', 'ce', 'sce', 'dghmc-star', 'focal',
                    '--seeds', '0', '1'],
             syn + ['--losses', 'dghmc', 'ghmc', 'ce', '--seeds', '2', '3']]
    for seeds in (['0', '1'], ['2', '3']):
        queue += [syn + ['--losses', 'dghmc', *ablation, '--seeds', *seeds]
                  for ablation in ABLATIONS]
    return queue


def queues(work_dir: Path) -> Dict[str, List[List[str]]]:
    """The full argument lists of ``python -m benchmarks``, by queue."""
    common = ['--parallel', '1', '--threads', '1', '--work-dir', str(work_dir), '--no-report']
    return {name: [common + args for args in queue]
            for name, queue in (('real', real_queue()),
                                ('synthetic', synthetic_queue(work_dir)))}


def run_queue(commands: List[List[str]], log: Path) -> int:
    """Run ``python -m benchmarks`` with each argument list in turn; the first failure's exit
    status (0 when all succeed)."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    with open(log, 'a') as out:
        for args in commands:
            out.write(f'$ {shlex.join(["python", "-m", "benchmarks", *args])}\n')
            out.flush()
            code = subprocess.run([sys.executable, '-m', 'benchmarks', *args], cwd=str(REPO),
                                  env=env, stdout=out, stderr=subprocess.STDOUT).returncode
            if code != 0:
                return code
    return 0


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', type=Path, default=Path('work_dirs/full-ranking'))
    p.add_argument('--print', action='store_true', dest='print_only',
                   help='print the invocations of each queue instead of running them')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    work_dir = args.work_dir.resolve()
    planned = queues(work_dir)
    if args.print_only:
        for name, commands in planned.items():
            print(f'# {name} queue')
            print('\n'.join(shlex.join(['python', '-m', 'benchmarks', *c]) for c in commands))
        return 0
    work_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(len(planned)) as pool:
        codes = dict(zip(planned, pool.map(
            lambda name: run_queue(planned[name], work_dir / f'{name}_queue.log'), planned)))
    for name, code in codes.items():
        print(f'{name} queue: ' + ('done' if code == 0 else
                                   f'stopped (exit {code}), see {work_dir}/{name}_queue.log'))
    print(f'done: {work_dir}')
    return max(codes.values())


if __name__ == '__main__':
    sys.exit(main())
