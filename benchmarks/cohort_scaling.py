"""Cohort inference on 1 process against 2 (torch.distributed, gloo): windows per second,
slides per hour, and the share of a slide's wall time outside the model's forward.

Usage:
    nohup python -m benchmarks.cohort_scaling [--work-dir /tmp/cohort_scaling]
        [--slides 8] [--tile-size 256] [--overlap 32] [--batch-size 4] [--repeats 1]
        [--out benchmarks/cohort_scaling.md] > cohort_scaling.log 2>&1 &

A synthetic cohort of ``--slides`` tiled TIFFs of mixed sizes (H&E-like tissue with nuclei on
glass, in case folders, two of them sharing a name) is generated once, and the light
RetinaNet-R18 config's model gets random weights (no download) saved as a checkpoint. The
complete user commands then run on the same cohort into fresh output folders, each process on
one torch thread (``OMP_NUM_THREADS=1``):

- 1 process: ``python tools/infer.py CONFIG CKPT COHORT --recursive --out-dir OUT ...``
- 2 processes: ``bash tools/dist_infer.sh CONFIG CKPT 2 COHORT --recursive --out-dir OUT ...``

Random weights score many boxes; ``--score-thr 0.3 --max-per-img 50`` keeps a trained
detector's density of boxes per window (dozens), so merging and writing cost what they would.
Windows per second count the windows the model ran on (the tissue mask skips the rest) over the
command's wall time, start-up included; "cohort phase" divides by the busiest rank's summed slide
time (the shares are recomputed with ``balanced_shards``, as the ranks did). Outside the forward
is ``1 - sum(forward) / sum(slide seconds)`` over the slides, with its stages from each slide's
marker: overview and tissue mask, window reading waits and merging, and writing.

The machine may be shared: the load average and the CPU time the commands received (from
``getrusage`` of the children) are reported with each run. Each finished run is saved in
``WORK_DIR/results.json``; rerunning the command skips it (delete the file to measure again).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import resource
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np
import tifffile
import torch

REPO = Path(__file__).resolve().parents[1]
CONFIG = 'configs/digestpath/retinanet_r18-light_fpn_dghmc_digestpath.py'
GLASS, TISSUE, NUCLEUS = (236, 236, 238), (200, 150, 220), (120, 40, 90)  # BGR
# (height, width) of the cohort's slides, in case folders; caseA and caseC share a name.
SIZES = {'caseA/slide1.tif': (1536, 1024), 'caseB/slide2.tif': (1024, 1024),
         'caseC/slide1.tif': (1024, 2048), 'caseC/slide3.tif': (768, 768),
         'caseD/slide4.tif': (1280, 1792), 'caseD/slide5.tif': (512, 1024),
         'caseE/slide6.tif': (512, 512), 'caseE/slide7.tif': (1536, 1536),
         'caseF/slide8.tif': (1792, 1280), 'caseF/slide9.tif': (768, 1536)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', type=Path, default=Path('/tmp/cohort_scaling'))
    parser.add_argument('--slides', type=int, default=len(SIZES),
                        help=f'at most {len(SIZES)}')
    parser.add_argument('--scale', type=float, default=1.5,
                        help='slide sides times this (more windows per slide)')
    parser.add_argument('--tile-size', type=int, default=256)
    parser.add_argument('--overlap', type=int, default=32)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--max-per-img', type=int, default=50)
    parser.add_argument('--repeats', type=int, default=1,
                        help='runs of each, alternating 1 and 2 processes')
    parser.add_argument('--fp16-run', action='store_true',
                        help='then one more 1-process run with --fp16 (bfloat16 backbone and '
                             'neck on the CPU)')
    parser.add_argument('--out', type=Path, default=REPO / 'benchmarks/cohort_scaling.md')
    return parser.parse_args()


def slide_image(height: int, width: int, seed: int) -> np.ndarray:
    """Glass with a tissue region over about two thirds of it, nuclei of radius 6 on it."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), GLASS, np.uint8)
    mask = np.zeros((height, width), np.uint8)
    centre = (width // 2, height // 2)
    cv2.ellipse(mask, centre, (int(width * 0.42), int(height * 0.4)), 0, 0, 360, 1, -1)
    image[mask > 0] = TISSUE
    ys, xs = np.nonzero(mask[::24, ::24])
    keep = rng.random(len(xs)) < 0.35
    for x, y in zip(xs[keep] * 24 + 12, ys[keep] * 24 + 12):
        cv2.circle(image, (int(x), int(y)), 6, NUCLEUS, -1)
    noise = rng.normal(0, 3, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def make_cohort(folder: Path, count: int, scale: float) -> None:
    """Tiled, zlib-compressed TIFFs (read window by window, as slides are)."""
    for seed, (name, (height, width)) in enumerate(list(SIZES.items())[:count]):
        path = folder / name
        if path.is_file():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        height, width = (int(round(side * scale / 16)) * 16 for side in (height, width))
        rgb = cv2.cvtColor(slide_image(height, width, seed), cv2.COLOR_BGR2RGB)
        tifffile.imwrite(path, rgb, photometric='rgb', tile=(256, 256), compression='zlib')


def make_checkpoint(path: Path) -> None:
    """The config's model with PyTorch's default (random) initialisation, saved strictly."""
    if path.is_file():
        return
    from mmdet_dghm.apis import build_detector
    torch.manual_seed(0)
    model = build_detector(REPO / CONFIG, None)
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('ring_cell_cancer', )))), path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def command(nproc: int, checkpoint: Path, cohort: Path, out: Path, args,
            fp16: bool = False) -> List[str]:
    options = ['--recursive', '--out-dir', str(out), '--tile-size', str(args.tile_size),
               '--overlap', str(args.overlap), '--batch-size', str(args.batch_size),
               '--score-thr', str(args.score_thr), '--max-per-img', str(args.max_per_img),
               '--pixel-size', '0.25', '--no-progress'] + (['--fp16'] if fp16 else [])
    if nproc == 1:
        return [sys.executable, 'tools/infer.py', CONFIG, str(checkpoint), str(cohort),
                *options]
    return ['bash', 'tools/dist_infer.sh', CONFIG, str(checkpoint), str(nproc), str(cohort),
            *options]


def cpu_model() -> str:
    for line in Path('/proc/cpuinfo').read_text().splitlines():
        if line.startswith('model name'):
            return line.split(':', 1)[1].strip()
    return platform.processor() or 'CPU'


def load_average() -> float:
    return float(Path('/proc/loadavg').read_text().split()[0])


def run_once(nproc: int, checkpoint: Path, cohort: Path, out: Path, args,
             fp16: bool = False) -> Dict:
    """Run the command into a fresh folder; its timings and each slide's row and marker."""
    if out.exists():
        subprocess.run(['rm', '-rf', str(out)], check=True)
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable, PORT=str(free_port()),
               PYTHONPATH=f'{REPO}{os.pathsep}{os.environ.get("PYTHONPATH", "")}')
    argv = command(nproc, checkpoint, cohort, out, args, fp16)
    load_before = load_average()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f'{shlex.join(argv)} failed:\n{proc.stdout[-3000:]}\n'
                           f'{proc.stderr[-3000:]}')
    with open(out / 'summary.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    slides = []
    for row in rows:
        marker = json.loads((out / f'{row["output"]}.done.json').read_text())
        detections = json.loads((out / f'{row["output"]}.json').read_text())['detections']
        slides.append(dict(output=row['output'], windows=int(row['windows']),
                           grid=int(row['windows']) + int(row['skipped_windows']),
                           seconds=float(marker['summary']['seconds']),
                           forward=float(marker['summary']['forward_seconds']),
                           timings=marker['summary']['timings'], boxes=len(detections),
                           digest=hashlib.sha1(json.dumps(detections).encode()).hexdigest()))
    return dict(nproc=nproc, fp16=fp16, command=shlex.join(argv), wall=wall,
                cpu=(after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime),
                load_before=load_before, load_after=load_average(), slides=slides)


def analyse(run: Dict) -> Dict:
    """Throughputs and the share outside the forward of one run."""
    from mmdet_dghm.apis import balanced_shards
    slides = run['slides']
    windows = sum(s['windows'] for s in slides)
    shares = balanced_shards([s['grid'] for s in slides], [s['output'] for s in slides],
                             run['nproc'])
    busiest = max(sum(slides[i]['seconds'] for i in share) for share in shares)
    rank_windows = [sum(slides[i]['windows'] for i in share) for share in shares]
    seconds = sum(s['seconds'] for s in slides)
    stages = {name: sum(s['timings'][name] for s in slides)
              for name in ('overview', 'detect', 'forward', 'export')}
    return dict(windows=windows, windows_per_s=windows / run['wall'],
                slides_per_hour=len(slides) / run['wall'] * 3600,
                phase_windows_per_s=windows / busiest, busiest=busiest,
                outside=1 - sum(s['forward'] for s in slides) / seconds,
                overview=stages['overview'] / seconds,
                reading_merging=(stages['detect'] - stages['forward']) / seconds,
                export=stages['export'] / seconds, cores=run['cpu'] / run['wall'],
                windows_per_cpu_s=windows / sum(s['timings']['cpu'] for s in slides),
                rank_windows=rank_windows,
                balance=float(np.mean(rank_windows)) / max(rank_windows))


def shown(cmd: str) -> str:
    """A command as a user types it (``python``, not this interpreter's path)."""
    return cmd.replace(shlex.quote(sys.executable), 'python')


def report(results: List[Dict], args, work: Path) -> str:
    half = [r for r in results if r.get('fp16')]
    results = [r for r in results if not r.get('fp16')]
    one = [analyse(r) for r in results if r['nproc'] == 1]
    two = [analyse(r) for r in results if r['nproc'] == 2]
    med = lambda rows, key: float(np.median([r[key] for r in rows]))  # noqa: E731
    ratio = med(two, 'windows_per_s') / med(one, 'windows_per_s')
    phase_ratio = med(two, 'phase_windows_per_s') / med(one, 'phase_windows_per_s')
    same = all(r1['slides'][i]['digest'] == r2['slides'][i]['digest']
               for r1 in results for r2 in results for i in range(len(r1['slides'])))
    loads = [r['load_before'] for r in results] + [r['load_after'] for r in results]
    busy = max(loads) > 2.5
    verdict = ('met' if ratio >= 1.7 else 'not met')
    # Per-process efficiency (windows per CPU-second) of 2 processes against 1: with both
    # cores free, the cohort phase would speed up by about 2 x this x the shares' balance.
    efficiency = med(two, 'windows_per_cpu_s') / med(one, 'windows_per_cpu_s')
    idle_estimate = 2 * efficiency * med(two, 'balance')
    first = results[0]['slides']
    lines = [
        '# Cohort inference: 1 process against 2 (torch.distributed, gloo, CPU)', '',
        f'**Verdict: {ratio:.2f}x the windows per second with 2 processes on 2 cores, end to '
        f'end (goal >= 1.7x: {verdict}); {phase_ratio:.2f}x in the cohort phase (start-up '
        f'excluded). Outside the model forward: {100 * med(one, "outside"):.1f}% of a '
        f"slide's wall time at 1 process, {100 * med(two, 'outside'):.1f}% at 2 (CPU).**"
        + (' The machine was shared with other jobs during the runs (load average up to '
           f'{max(loads):.1f} on 2 cores), so the 2-process run could not have both cores '
           'to itself: see "CPU received". Per CPU-second each of the 2 processes ran '
           f'{efficiency:.2f}x the windows of the single process and the shares were '
           f'{100 * med(two, "balance"):.0f}% balanced, so on two free cores the cohort phase '
           f'would run about {idle_estimate:.2f}x faster (an estimate from these numbers, not '
           'a measurement).' if busy else ''), '',
        'Measured by `' + shlex.join(['python', '-m', 'benchmarks.cohort_scaling',
                                      '--work-dir', str(work), '--slides', str(args.slides),
                                      '--scale', str(args.scale),
                                      '--tile-size', str(args.tile_size), '--overlap',
                                      str(args.overlap), '--batch-size', str(args.batch_size),
                                      '--score-thr', str(args.score_thr), '--max-per-img',
                                      str(args.max_per_img), '--repeats', str(args.repeats)]
                                     + (['--fp16-run'] if args.fp16_run else []))
        + '`, which ran these commands (each process on one torch thread, '
        '`OMP_NUM_THREADS=1`):', '',
    ]
    for nproc in (1, 2):
        cmd = shown(next(r['command'] for r in results if r['nproc'] == nproc))
        lines += [f'- {nproc} process{"es" if nproc > 1 else ""}: `{cmd}`']
    lines += [
        '', f'Machine: {platform.machine()}, {cpu_model()} ({os.cpu_count()} cores), torch '
        f'{torch.__version__}, Python '
        f'{platform.python_version()}. No GPU was available: GPU numbers (images per second '
        'at batch 1, 4, 16 in fp32 and fp16) are still to be measured.', '',
        f'Cohort: {len(first)} synthetic tiled TIFFs of mixed sizes (sides {args.scale:g} '
        f'times 512 to 2048 px) in case folders, two sharing a name, '
        f'{sum(s["grid"] for s in first)} windows of {args.tile_size} px '
        f'(overlap {args.overlap}) of which the tissue mask keeps '
        f'{sum(s["windows"] for s in first)}; model `{CONFIG}` with random weights, '
        f'batch {args.batch_size}, at most {args.max_per_img} boxes per window from score '
        f'{args.score_thr}; {sum(s["boxes"] for s in first)} boxes written.', '',
        'The 2-process detections are '
        + ("identical to the 1-process ones (every slide's JSON)." if same else
           '**not** identical to the 1-process ones.'), '',
        '| processes | wall s | windows/s | slides/hour | cohort phase windows/s | '
        'CPU received (cores) | windows per slide CPU-second | load avg before / after |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for run in results:
        a = analyse(run)
        lines.append(f'| {run["nproc"]} | {run["wall"]:.1f} | {a["windows_per_s"]:.2f} | '
                     f'{a["slides_per_hour"]:.0f} | {a["phase_windows_per_s"]:.2f} | '
                     f'{a["cores"]:.2f} | {a["windows_per_cpu_s"]:.2f} | '
                     f'{run["load_before"]:.1f} / {run["load_after"]:.1f} |')
    lines += [
        '', f'Ratio 2 / 1 processes (median of runs): {ratio:.2f}x end to end, '
        f'{phase_ratio:.2f}x in the cohort phase. Windows the model ran on per rank (2 '
        'processes, shares by `balanced_shards` on window counts): '
        + ', '.join(str(analyse(r)['rank_windows']) for r in results if r['nproc'] == 2)
        + '.', '',
        "Share of a slide's wall time outside the model forward (sums over the slides):", '',
        '| processes | outside forward | overview + tissue mask | window reading waits + '
        'merging | writing outputs |', '|---|---|---|---|---|']
    for run in results:
        a = analyse(run)
        lines.append(f'| {run["nproc"]} | {100 * a["outside"]:.1f}% | '
                     f'{100 * a["overview"]:.1f}% | {100 * a["reading_merging"]:.1f}% | '
                     f'{100 * a["export"]:.1f}% |')
    for run in half:
        a, base = analyse(run), one[0]
        exact = results[0]['slides']
        lines += [
            '', f'`--fp16` at 1 process (bfloat16 backbone and neck, float32 head and NMS; '
            f'`{shown(run["command"])}`): {a["windows_per_s"]:.2f} windows/s end to end, '
            f'{a["windows_per_cpu_s"]:.2f} windows per slide CPU-second against '
            f'{base["windows_per_cpu_s"]:.2f} in float32 '
            f'({a["windows_per_cpu_s"] / base["windows_per_cpu_s"]:.2f}x); '
            f'{sum(s["boxes"] for s in run["slides"])} boxes written against '
            f'{sum(s["boxes"] for s in exact)} (bfloat16 moves scores near the threshold).']
    lines += [
        '', 'Notes: "CPU received" is the CPU time of the command\'s processes over its wall '
        'time: 2.0 would be both cores; "windows per slide CPU-second" divides by the CPU '
        'time the processes spent on the slides (start-up excluded), which other jobs do not '
        "change. End-to-end numbers include each command's start-up "
        '(importing torch and mmdet, building the model: a few seconds per process, in '
        'parallel for the 2 processes), which a real cohort of hours amortises; the cohort '
        "phase divides by the busiest rank's summed slide time. On a GPU the forward shrinks "
        'while reading, the tissue mask, merging and writing do not, so the share outside the '
        'forward grows there: `--num-workers` (reader threads) and `--batch-size` are the '
        'levers.', '']
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    cohort, checkpoint = work / 'cohort', work / 'random_r18_light.pth'
    make_cohort(cohort, min(args.slides, len(SIZES)), args.scale)
    make_checkpoint(checkpoint)
    saved = work / 'results.json'
    results = json.loads(saved.read_text()) if saved.is_file() else []
    plan = [(nproc, False) for _ in range(args.repeats) for nproc in (1, 2)]
    plan += [(1, True)] if args.fp16_run else []
    for index, (nproc, fp16) in enumerate(plan):
        if index < len(results):
            continue  # finished by an earlier invocation
        print(f'run {index + 1}/{len(plan)}: {nproc} process(es){" fp16" * fp16}', flush=True)
        results.append(run_once(nproc, checkpoint, cohort, work / f'out{index}', args, fp16))
        saved.write_text(json.dumps(results, indent=1))
        print(f'  {results[-1]["wall"]:.1f} s wall, load {results[-1]["load_after"]:.1f}',
              flush=True)
    args.out.write_text(report(results, args, work))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
