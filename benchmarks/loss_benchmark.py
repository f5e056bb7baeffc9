"""Benchmark DGHM-C against mmdet's FocalLoss, GHMC and plain BCE (forward + backward, CPU).

Usage:
    python -m benchmarks.loss_benchmark [--anchors 1000000] [--classes 1] [--repeats 15]
        [--threads 1 [2 ...]] [--out benchmarks/loss_benchmark.md]

Every loss sees the same logits, (N,) class-index targets with background = C, ones as
label weights and (for DGHM-C) a random ``partial`` mask; the median wall time over
``--repeats`` interleaved rounds (after two warm-up rounds) is reported with ratios to
FocalLoss and GHMC. mmdet's FocalLoss only has a compiled kernel on CUDA, so on the CPU it
runs its pure-torch ``py_sigmoid_focal_loss``.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

import mmdet_dghm  # noqa: F401  (registers DGHMCLoss)

FOCAL = 'FocalLoss (mmdet, CPU py_sigmoid_focal_loss)'
GHMC = 'GHMC (mmdet, bins=10)'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--anchors', type=int, default=1_000_000)
    parser.add_argument('--classes', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=15)
    # One thread by default: on a shared machine, multi-threaded timings mostly measure the
    # other processes' load.
    parser.add_argument('--threads', type=int, nargs='+', default=[1],
                        help='torch intra-op thread counts, one table each')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', type=Path, default=Path('benchmarks/loss_benchmark.md'))
    return parser.parse_args()


def median_seconds(steps: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median wall time of each step over ``repeats`` rounds, after two warm-up rounds.

    Every round runs each step once, in a rotated order, so that a load change on a shared
    machine hits all steps alike instead of whichever was being timed at that moment.
    """
    names = list(steps)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_idx in range(repeats + 2):
        shift = round_idx % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            steps[name]()
            if round_idx >= 2:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def forward_backward(loss_fn: Callable[[torch.Tensor], torch.Tensor],
                     logits: torch.Tensor) -> Callable[[], None]:
    """A closure running loss_fn forward and backward on a fresh leaf copy of ``logits``."""
    def step() -> None:
        pred = logits.detach().requires_grad_(True)
        loss_fn(pred).backward()
    return step


def timing_table(cases: dict[str, Callable[[torch.Tensor], torch.Tensor]],
                 logits: torch.Tensor, repeats: int) -> list[str]:
    """Markdown rows: median ms, time relative to FocalLoss, and GHMC's time over each."""
    seconds = median_seconds({name: forward_backward(fn, logits) for name, fn in cases.items()},
                             repeats)
    focal_s, ghmc_s = seconds[FOCAL], seconds[GHMC]
    return ['| Loss | Median ms | x FocalLoss time | GHMC time / this |',
            '|---|---:|---:|---:|',
            *[f'| {name} | {s * 1e3:.1f} | {s / focal_s:.2f} | {ghmc_s / s:.2f} |'
              for name, s in seconds.items()]]


def main() -> None:
    args = parse_args()
    gen = torch.Generator().manual_seed(args.seed)
    num, num_classes = args.anchors, args.classes
    logits = torch.randn(num, num_classes, generator=gen) * 2
    # About 1% positives, like a detector's anchor assignment.
    labels = torch.where(torch.rand(num, generator=gen) < 0.01,
                         torch.randint(0, num_classes, (num,), generator=gen),
                         torch.full((num,), num_classes))
    onehot = F.one_hot(labels, num_classes + 1)[:, :num_classes].float()
    weights = torch.ones(num)
    partial = torch.rand(num, generator=gen) < 0.5

    dghm = MODELS.build(dict(type='DGHMCLoss'))
    focal = MODELS.build(dict(type='FocalLoss', use_sigmoid=True))
    ghmc = MODELS.build(dict(type='GHMC', bins=10))
    cases = {
        'BCE (F.binary_cross_entropy_with_logits)':
            lambda p: F.binary_cross_entropy_with_logits(p, onehot),
        FOCAL: lambda p: focal(p, labels, weights, avg_factor=float(num)),
        GHMC: lambda p: ghmc(p, labels, weights),
        'DGHMCLoss (ours, bins=10)': lambda p: dghm(p, labels, weights, partial=partial),
    }
    cpu = platform.processor() or platform.machine()
    lines = [
        '# Loss benchmark: forward + backward on the CPU',
        '',
        f"Command: `{' '.join(['python', '-m', 'benchmarks.loss_benchmark', *sys.argv[1:]])}`",
        '',
        f'- {num} anchors x {num_classes} class(es), ~1% positives, median of {args.repeats} '
        f'interleaved rounds after 2 warm-up rounds',
        f'- Machine: {platform.platform()}, {cpu}, {os.cpu_count()} logical CPUs, load '
        f'average at start {os.getloadavg()[0]:.1f}',
        f'- Python {platform.python_version()}, torch {torch.__version__}',
        "- mmdet's FocalLoss has a compiled kernel only on CUDA; on the CPU it runs its "
        "pure-torch `py_sigmoid_focal_loss`.",
        '- Targets: DGHMCLoss <= 1.5x FocalLoss time, and >= 3x faster than GHMC.',
    ]
    for threads in args.threads:
        torch.set_num_threads(threads)
        lines += ['', f'## torch threads: {threads}', '',
                  *timing_table(cases, logits, args.repeats)]
    report = '\n'.join(lines) + '\n'
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)


if __name__ == '__main__':
    main()
