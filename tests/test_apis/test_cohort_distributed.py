"""Cohorts on two gloo processes: the same detections as one process, the shares balanced by
window count, a rank killed mid-cohort then a rerun that does each slide once."""
import csv
import json
import os
import socket
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from blob_detector import BlobDetector
from test_tissue_mask import GLASS, NUCLEUS, TISSUE

from mmdet_dghm.apis import TiledDetector, balanced_shards, init_distributed, run_cohort
from mmdet_dghm.apis import cohort as cohort_module

# (height, width) of the cohort's images: mixed sizes, two of them sharing a name.
SIZES = {'caseA/s1.png': (300, 420), 'caseB/s1.png': (520, 700), 'caseB/s2.png': (256, 256),
         'caseC/s3.png': (640, 380), 's4.png': (200, 900), 's5.png': (460, 460)}
TILE, OVERLAP = 128, 32


def cohort_image(height: int, width: int, seed: int) -> np.ndarray:
    """Glass with a tissue rectangle inset by 20 px and nuclei (radius 6) scattered on it."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), GLASS, np.uint8)
    image[20:-20, 20:-20] = TISSUE
    for _ in range(height * width // 2500):
        x, y = rng.integers(30, width - 30), rng.integers(30, height - 30)
        cv2.circle(image, (int(x), int(y)), 6, NUCLEUS, -1)
    return image


@pytest.fixture(scope='module')
def cohort(tmp_path_factory):
    """The cohort's folder and its images in a sorted order."""
    root = tmp_path_factory.mktemp('cohort') / 'slides'
    for seed, (name, size) in enumerate(SIZES.items()):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(root / name), cohort_image(*size, seed))
    return root, sorted(root / name for name in SIZES)


def detector() -> TiledDetector:
    return TiledDetector(BlobDetector(full_area=np.pi * 36), tile_size=TILE, overlap=OVERLAP,
                         batch_size=3, pixel_size=0.5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def worker(rank: int, world: int, port: int, slides, out: Path, log: Path,
           kill_rank: int) -> None:
    """One rank: join the gloo group, log each finished slide, and (``kill_rank``) die hard
    after the first one, as a process killed by the system would."""
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    assert init_distributed('pytorch') == (rank, world)
    original = cohort_module.run_slide

    def run_slide(*args, **kwargs):
        row = original(*args, **kwargs)
        with open(log, 'a') as f:
            f.write(f'{rank} {row.output}\n')
        if rank == kill_rank:
            os._exit(1)
        return row

    cohort_module.run_slide = run_slide
    rows = run_cohort(detector(), slides, out, score_thr=0.5, show_progress=False,
                      max_overview_size=256)
    # Every rank gets the whole cohort's rows.
    (out / f'rows{rank}.json').write_text(json.dumps([(r.output, r.status) for r in rows]))
    dist.destroy_process_group()


def run_ranks(slides, out: Path, log: Path, kill_rank: int = -1) -> None:
    mp.start_processes(worker, args=(2, free_port(), slides, out, log, kill_rank), nprocs=2,
                       join=True, start_method='fork')


def logged(log: Path):
    return [line.split() for line in log.read_text().splitlines()] if log.is_file() else []


def summary(out: Path):
    with open(out / 'summary.csv', newline='') as f:
        return list(csv.DictReader(f))


def test_two_processes_give_the_detections_of_one(cohort, tmp_path):
    root, slides = cohort
    one, two, log = tmp_path / 'one', tmp_path / 'two', tmp_path / 'log'
    rows = run_cohort(detector(), slides, one, score_thr=0.5, show_progress=False,
                      max_overview_size=256)
    keys = [r.output for r in rows]
    assert keys == ['caseA/s1', 'caseB/s1', 'caseB/s2', 'caseC/s3', 's4', 's5']
    assert all(r.status == 'done' and r.detections > 5 for r in rows)
    run_ranks(slides, two, log)
    # Each rank ran its balanced share: window counts of the full grid, ties by key.
    windows = [r.windows + r.skipped_windows for r in rows]
    shares = balanced_shards(windows, keys, 2)
    ran = logged(log)
    assert sorted(k for _, k in ran) == sorted(keys)
    assert [sorted(k for r, k in ran if r == str(rank)) for rank in (0, 1)] == [
        sorted(keys[i] for i in share) for share in shares]
    loads = [sum(windows[i] for i in share) for share in shares]
    assert max(loads) - min(loads) <= max(windows)
    for key in keys:
        a = json.loads((one / f'{key}.json').read_text())
        b = json.loads((two / f'{key}.json').read_text())
        assert a['detections'] == b['detections'] and len(a['detections']) > 5, key
        assert (one / f'{key}.csv').read_text() == (two / f'{key}.csv').read_text()
    table_one, table_two = summary(one), summary(two)
    for column in ('slide', 'status', 'detections', 'per_mm2', 'windows', 'skipped_windows',
                   'output'):
        assert [r[column] for r in table_one] == [r[column] for r in table_two], column
    # Both ranks returned the whole cohort's rows.
    for rank in (0, 1):
        assert json.loads((two / f'rows{rank}.json').read_text()) == [[k, 'done'] for k in keys]


def test_a_killed_rank_then_a_rerun_does_each_slide_once(cohort, tmp_path):
    _, slides = cohort
    out, log = tmp_path / 'out', tmp_path / 'log'
    # The parent stops rank 0 once rank 1 is gone (rank 0 may also see its peer vanish first).
    with pytest.raises((mp.ProcessExitedException, mp.ProcessRaisedException)):
        run_ranks(slides, out, log, kill_rank=1)
    first = logged(log)
    # Rank 1 died after its first slide; rank 0 was stopped when its peer died.
    assert [k for r, k in first if r == '1'] and len([k for r, k in first if r == '1']) == 1
    assert 1 <= len(first) < len(slides)
    assert not (out / 'summary.csv').exists()
    finished = {k: (out / f'{k}.geojson').stat().st_mtime_ns for _, k in first}
    markers = {p.relative_to(out).as_posix()[:-len('.done.json')]
               for p in out.rglob('*.done.json')}
    assert markers == set(finished)  # every finished slide is valid, nothing else is

    log.unlink()
    run_ranks(slides, out, log)
    second = logged(log)
    counts = Counter(k for _, k in first + second)
    assert sorted(counts) == sorted(r['output'] for r in summary(out))
    assert set(counts.values()) == {1}  # each slide done exactly once over the two runs
    statuses = {r['output']: r['status'] for r in summary(out)}
    assert statuses == {k: 'resumed' if k in finished else 'done' for k in counts}
    for key, mtime in finished.items():
        assert (out / f'{key}.geojson').stat().st_mtime_ns == mtime, key
