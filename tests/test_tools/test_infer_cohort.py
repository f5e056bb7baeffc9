"""tools/infer.py on a cohort with a two-class model: tools/dist_infer.sh on two gloo processes
gives the one-process detections, the GeoJSON names both classes, --classes keeps one, --fp16
runs on the CPU, and a slide raising a RuntimeError fails the run but not the others."""
import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import nn

from mmdet_dghm.apis import TiledDetector, build_detector

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs/digestpath/retinanet_r18-light_fpn_dghmc_digestpath.py'
CLASSES = ('tumour', 'lymphocyte')
# Mixed sizes; two images share a name, so the outputs mirror their folders.
SIZES = {'caseA/x.png': (200, 260), 'caseB/x.png': (150, 150), 'y.png': (300, 180)}
OPTIONS = ['--tile-size', '128', '--overlap', '32', '--pixel-size', '0.25', '--no-tissue-mask',
           '--max-per-img', '100', '--max-overview-size', '100', '--no-progress']


@pytest.fixture(scope='module')
def model_and_cohort(tmp_path_factory):
    """A two-class config, random weights saved with the class names, and the images."""
    root = tmp_path_factory.mktemp('two_class')
    config = root / 'two_class.py'
    config.write_text(f"_base_ = '{CONFIG}'\nmodel = dict(bbox_head=dict(num_classes=2))\n")
    torch.manual_seed(0)
    model = build_detector(config, None)
    checkpoint = root / 'two_class.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=dict(
        classes=CLASSES))), checkpoint)
    rng = np.random.default_rng(0)
    for name, size in SIZES.items():
        (root / 'slides' / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / 'slides' / name), rng.integers(0, 256, (*size, 3), np.uint8))
    return config, checkpoint, root / 'slides'


def run_in_process(load_tool, argv):
    """``infer.main(argv)`` on one torch thread, as each process of the distributed run."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return load_tool('infer').main(argv)
    finally:
        torch.set_num_threads(threads)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def inputs(slides: Path):
    return [str(slides / 'caseA'), str(slides / 'caseB'), str(slides / 'y.png')]


def detections(out: Path, key: str):
    return json.loads((out / f'{key}.json').read_text())['detections']


def test_dist_infer_on_two_processes_equals_one_and_writes_both_classes(
        model_and_cohort, tmp_path, load_tool):
    config, checkpoint, slides = model_and_cohort
    one, two = tmp_path / 'one', tmp_path / 'two'
    assert run_in_process(load_tool, [str(config), str(checkpoint), *inputs(slides),
                                      '--out-dir', str(one), *OPTIONS]) == 0
    env = dict(os.environ, PORT=str(free_port()), PYTHON=sys.executable, OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', str(REPO / 'tools/dist_infer.sh'), str(config),
                           str(checkpoint), '2', *inputs(slides), '--out-dir', str(two),
                           *OPTIONS], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '[rank 1] ' in proc.stdout  # the second process ran slides too
    keys = ['caseA/x', 'caseB/x', 'y']
    for key in keys:
        got = detections(two, key)
        assert got == detections(one, key) and len(got) > 20, key
        assert {d['class_name'] for d in got} == set(CLASSES)
        collection = json.loads((two / f'{key}.geojson').read_text())
        classified = {f['properties']['classification']['name']: tuple(
            f['properties']['classification']['color']) for f in collection['features']}
        assert classified == {'tumour': (220, 20, 60), 'lymphocyte': (0, 114, 178)}
    with open(two / 'summary.csv', newline='') as f:
        table = list(csv.DictReader(f))
    assert [r['output'] for r in table] == keys
    assert [r['status'] for r in table] == ['done'] * 3
    for row, key in zip(table, keys):
        strong = [d for d in detections(two, key) if d['score'] >= 0.5]
        assert int(row['detections']) == len(strong)
        for name in CLASSES:
            assert int(row[f'detections:{name}']) == sum(d['class_name'] == name
                                                         for d in strong)

    # --classes keeps one: exactly the lymphocytes of the full run (classes merge apart).
    sub = tmp_path / 'sub'
    assert run_in_process(load_tool, [str(config), str(checkpoint), *inputs(slides),
                                      '--out-dir', str(sub), '--classes', 'lymphocyte',
                                      *OPTIONS]) == 0
    for key in keys:
        record = json.loads((sub / f'{key}.json').read_text())
        assert record['class_name'] == 'lymphocyte'  # one class: the one-class layout
        assert record['detections'] == [dict(bbox=d['bbox'], score=d['score'])
                                        for d in detections(one, key)
                                        if d['class_name'] == 'lymphocyte']
        names = {f['properties']['classification']['name']
                 for f in json.loads((sub / f'{key}.geojson').read_text())['features']}
        assert names == {'lymphocyte'}


def test_unknown_class_is_refused(model_and_cohort, tmp_path, load_tool, capsys):
    config, checkpoint, slides = model_and_cohort
    assert load_tool('infer').main([str(config), str(checkpoint), *inputs(slides), '--out-dir',
                                    str(tmp_path), '--classes', 'stroma', *OPTIONS]) == 2
    assert ("infer.py: error: unknown class 'stroma' (--classes): the model of "
            f"{config} has 'tumour', 'lymphocyte'") in capsys.readouterr().err


def test_fp16_on_the_cpu_runs_bfloat16_features(model_and_cohort, tmp_path, load_tool):
    config, checkpoint, slides = model_and_cohort
    full, half = tmp_path / 'full', tmp_path / 'half'
    argv = [str(config), str(checkpoint), str(slides / 'y.png'), *OPTIONS]
    assert run_in_process(load_tool, argv + ['--out-dir', str(full)]) == 0
    assert run_in_process(load_tool, argv + ['--out-dir', str(half), '--fp16',
                                             '--num-workers', '2', '--batch-size', '3']) == 0
    exact, reduced = detections(full, 'y'), detections(half, 'y')
    # bfloat16 features move scores by about 1e-2: the same boxes lead, not bit for bit.
    assert exact != reduced
    assert abs(len(reduced) - len(exact)) <= 0.1 * len(exact)
    top = [(d['class_name'], np.round(d['bbox'])) for d in exact[:5]]
    assert any(d['class_name'] == top[0][0] and np.abs(np.round(d['bbox']) - top[0][1]).max()
               <= 2 for d in reduced[:5])


class FailsOnWhite(nn.Module):
    """Raises what a GPU out of memory raises on an all-white tile; else one box per tile."""

    dataset_meta = dict(classes=CLASSES)

    def test_step(self, data: dict):
        if any(bool((t == 255).all()) for t in data['inputs']):
            raise RuntimeError('CUDA out of memory. Tried to allocate 8.00 GiB')
        instances = InstanceData(bboxes=torch.tensor([[4., 4., 20., 20.]]),
                                 scores=torch.tensor([0.9]), labels=torch.tensor([1]))
        return [DetDataSample(pred_instances=instances) for _ in data['inputs']]


def test_a_runtime_error_fails_the_run_not_the_cohort(tmp_path, load_tool, capsys,
                                                      monkeypatch):
    folder = tmp_path / 'slides'
    folder.mkdir()
    for name, value in (('a', 128), ('b', 255), ('c', 60)):
        cv2.imwrite(str(folder / f'{name}.png'), np.full((64, 64, 3), value, np.uint8))
    def from_config(cls, config, checkpoint, device, score_thr, max_per_img, cfg_options,
                    **kwargs):
        return cls(FailsOnWhite(), **kwargs)

    monkeypatch.setattr(TiledDetector, 'from_config', classmethod(from_config))
    out = tmp_path / 'out'
    assert load_tool('infer').main(['unused.py', 'unused.pth', str(folder), '--out-dir',
                                    str(out), '--tile-size', '64', '--overlap', '0',
                                    '--no-tissue-mask', '--no-progress']) == 1
    err = capsys.readouterr().err
    assert f'infer.py: 1 of 3 images failed: {folder / "b.png"}' in err
    assert f'  {folder / "b.png"}: RuntimeError: CUDA out of memory' in err
    with open(out / 'summary.csv', newline='') as f:
        table = list(csv.DictReader(f))
    assert [(r['status'], r['detections:lymphocyte']) for r in table] == [
        ('done', '1'), ('error', ''), ('done', '1')]
    assert table[1]['error'] == 'RuntimeError: CUDA out of memory. Tried to allocate 8.00 GiB'
    assert (out / 'a.done.json').is_file() and (out / 'c.done.json').is_file()
    assert not list(out.glob('b*'))
