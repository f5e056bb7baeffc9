"""The air-gapped GPU kit on the CPU: tools/gpu_benchmark.sh (packing, deadline), the kit's
mmcv/_ext.py and tools/device/subset_digestpath.py."""
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import mmcv
import pytest

REPO = Path(__file__).resolve().parents[2]
SUBSET = REPO / 'tools' / 'device' / 'subset_digestpath.py'


def _gpu_benchmark(tmp_path: Path, deadline: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, OUT=str(tmp_path / 'out'), WORK=str(tmp_path / 'work'),
               PROFILE='smoke', PROTOCOL='table3', DATASETS='synthetic', DEVICE='cpu',
               PARALLEL='1', THREADS='1', WORKERS='0', ITERS='2', PYTHON=sys.executable,
               DEADLINE_S=str(deadline))
    return subprocess.run(['bash', str(REPO / 'tools' / 'gpu_benchmark.sh'), '--losses',
                           'dghmc'], env=env, capture_output=True, text=True, timeout=600)


def _members(tgz: Path) -> list:
    with tarfile.open(tgz) as tar:
        return tar.getnames()


def test_gpu_benchmark_packs_results(tmp_path):
    proc = _gpu_benchmark(tmp_path, deadline=500)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = tmp_path / 'out'
    run = 'smoke-iters2_table3_synthetic_drop0.00_fold0_dghmc_seed0'
    names = _members(out / 'gpu_runs.tgz')
    assert f'bench/runs/{run}/result.json' in names
    assert any(n.startswith(f'bench/runs/{run}/') and n.endswith('vis_data/scalars.json')
               for n in names)
    assert not any(n.endswith('.pth') for n in names)  # checkpoints stay on the machine
    assert '| DGHM-C |' in (out / 'RESULTS.md').read_text()
    assert f'done: {run}' in (out / 'benchmark.log').read_text()


def test_gpu_benchmark_deadline_stops_the_matrix_and_still_packs(tmp_path):
    proc = _gpu_benchmark(tmp_path, deadline=2)
    assert proc.returncode == 124, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = tmp_path / 'out'
    assert 'matrix finished with status 124' in proc.stdout
    assert (out / 'benchmark.log').is_file()
    assert not any(n.endswith('result.json') for n in _members(out / 'gpu_runs.tgz'))


def _touch(path: Path, text: str = 'x') -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_subset_keeps_all_positives_and_every_kth_negative_slide(tmp_path):
    src = tmp_path / 'src'
    for k in range(3):
        _touch(src / 'sig-train-pos' / f'P{k}-lv0-0-0-10-10.jpeg')
        _touch(src / 'sig-train-pos' / f'P{k}-lv0-0-0-10-10.xml', '<annotation/>')
    for slide in range(8):
        for tile in range(2):
            _touch(src / 'sig-train-neg' / f'N{slide}-lv0-{tile}-0-10-10.jpeg')
    dst = tmp_path / 'dst'
    proc = subprocess.run([sys.executable, str(SUBSET), str(src), str(dst),
                           '--neg-slide-every', '4'], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(list((dst / 'sig-train-pos').glob('*.jpeg'))) == 3
    assert len(list((dst / 'sig-train-pos').glob('*.xml'))) == 3
    # Slides N0..N7 sorted, every 4th: N0 and N4, both tiles of each.
    assert sorted(p.name.split('-lv0-')[0] for p in (dst / 'sig-train-neg').iterdir()) == \
        ['N0', 'N0', 'N4', 'N4']
    assert '3 positive images, 4 negative images of 2/8 slides' in proc.stdout


def test_subset_refuses_a_positive_without_xml(tmp_path):
    src = tmp_path / 'src'
    _touch(src / 'sig-train-pos' / 'P0-lv0-0-0-10-10.jpeg')
    (src / 'sig-train-neg').mkdir(parents=True)
    proc = subprocess.run([sys.executable, str(SUBSET), str(src), str(tmp_path / 'dst')],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'P0-lv0-0-0-10-10.jpeg has no XML P0-lv0-0-0-10-10.xml' in proc.stderr


def test_subset_refuses_a_bad_step(tmp_path):
    for name in ('sig-train-pos', 'sig-train-neg'):
        (tmp_path / name).mkdir()
    proc = subprocess.run([sys.executable, str(SUBSET), str(tmp_path), str(tmp_path / 'dst'),
                           '--neg-slide-every', '0'], capture_output=True, text=True)
    assert proc.returncode != 0 and '--neg-slide-every must be >= 1' in proc.stderr


@pytest.mark.torch_ops
def test_kit_site_serves_the_plugin_ops_as_mmcv_ext(tmp_path):
    """run_gpu_benchmark.sh's SITE: mmcv without compiled ops, mmdet_dghm_ops' mmcv_ext.py as
    mmcv/_ext.py, the repository on the path."""
    site = tmp_path / 'site'
    shutil.copytree(Path(mmcv.__file__).parent, site / 'mmcv',
                    ignore=shutil.ignore_patterns('_ext*.so', '__pycache__'))
    shutil.copy(REPO / 'mmdet_dghm_ops' / 'mmcv_ext.py', site / 'mmcv' / '_ext.py')
    code = ('import torch, mmcv._ext\n'
            'from mmcv.ops import batched_nms\n'
            'boxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 9.], [20., 20., 30., 30.]])\n'
            'keep = batched_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.zeros(3).long(),\n'
            '                   dict(iou_threshold=0.5))[1]\n'
            'print(mmcv._ext.__file__, keep.tolist())')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=f'{site}:{REPO}'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split(' ', 1) == [str(site / 'mmcv' / '_ext.py'), '[0, 2]\n']
