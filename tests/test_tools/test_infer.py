"""End to end: train the light DGHM-C config a few iterations on synthetic data through a real
Runner, evaluate it with DigestPathMetric on whole-image tiles (Runner.test), then run
tools/infer.py on held-out images and parse everything it writes."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import tifffile
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmdet_dghm.testing import generate_synthetic_digestpath

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs/digestpath/retinanet_r18-light_fpn_dghmc_digestpath.py'
IMAGE = 256  # synthetic whole images, 2 positive + 2 negative


def tiny_config(data_root: Path, work_dir: Path) -> Config:
    """The light DGHM-C config shrunk to seconds: one epoch of 2 batches of 64 px crops."""
    cfg = Config.fromfile(str(CONFIG))
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.init_cfg = None
    cfg.train_dataloader.merge(dict(
        batch_size=8, num_workers=0, persistent_workers=False,
        dataset=dict(data_root=str(data_root), split='all', tile_size=128, tile_stride=128)))
    cfg.train_dataloader.dataset.pipeline[2].crop_size = 64  # RandomTileCrop
    # Test mode: 4 tiles of 128 px per image, stitched back by the metric.
    cfg.test_dataloader.merge(dict(
        batch_size=4, num_workers=0, persistent_workers=False,
        dataset=dict(data_root=str(data_root), split='all', tile_size=128, tile_stride=128)))
    # A barely trained model scores below the config's 0.05: keep every box, count every box.
    cfg.model.test_cfg.score_thr = 0.0
    cfg.test_evaluator = dict(type='DigestPathMetric', score_thr=0.0)
    # Evaluation runs once, through Runner.test(), not after the epoch as well.
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0)
    return cfg


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(checkpoint, test metrics, held-out folder) after one short training epoch."""
    root = tmp_path_factory.mktemp('e2e')
    generate_synthetic_digestpath(root / 'data', num_pos=2, num_neg=2, image_size=IMAGE, seed=0)
    held_out = generate_synthetic_digestpath(root / 'held_out', num_pos=1, num_neg=0,
                                             image_size=IMAGE, seed=1)
    runner = Runner.from_cfg(tiny_config(root / 'data', root / 'work'))
    runner.train()
    metrics = runner.test()
    checkpoint = root / 'work' / 'epoch_1.pth'
    assert checkpoint.is_file()
    return checkpoint, metrics, held_out.pos_images[0]


def test_runner_evaluates_whole_images_with_digestpath_metric(trained):
    _, metrics, _ = trained
    # 16 tiles were stitched back into the 4 source images.
    assert metrics['digestpath/num_pos_images'] == 2
    assert metrics['digestpath/num_normal_images'] == 2
    # Every box counts (score_thr 0): hundreds of boxes per normal image leave no NFPs
    # score, dense boxes on positive images hit some cells.
    assert metrics['digestpath/nfps'] == 0.0
    assert 0.0 < metrics['digestpath/recall'] <= 1.0
    assert 0.0 < metrics['digestpath/precision'] < 1.0
    assert 0.0 <= metrics['digestpath/froc'] <= 1.0


def test_infer_tool_writes_parseable_outputs(trained, tmp_path):
    checkpoint, _, jpeg = trained
    tiff = tmp_path / 'held_out_tiled.tif'
    tifffile.imwrite(tiff, cv2.cvtColor(cv2.imread(str(jpeg)), cv2.COLOR_BGR2RGB),
                     photometric='rgb', tile=(64, 64), compression='zlib')
    corrupt = tmp_path / 'corrupt.png'
    corrupt.write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00' * 16)
    out = tmp_path / 'out'
    command = [sys.executable, str(REPO / 'tools/infer.py'), str(CONFIG), str(checkpoint),
               str(jpeg), str(tiff), str(corrupt), '--out-dir', str(out), '--tile-size', '128',
               '--overlap', '32', '--batch-size', '2', '--score-thr', '0.0', '--max-per-img',
               '50', '--max-overview-size', '100', '--pixel-size', '0.25', '--no-progress']
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    # The corrupt file is reported by name and fails the run; the others are processed.
    assert proc.returncode == 1, proc.stderr
    assert f'{corrupt}: not a readable image' in proc.stderr
    assert f'1 of 3 images failed: {corrupt}' in proc.stderr
    # The config's pixel_size went into the checkpoint; the inputs are taken at the given one.
    assert torch.load(checkpoint, weights_only=False)['meta']['pixel_size'] == 0.25
    assert 'every input taken at --pixel-size 0.25 um/px' in proc.stderr
    assert 'input 0.25 um/px (given by --pixel-size), model 0.25 um/px: level 0 resized x1' \
        in proc.stdout
    assert not list(out.glob('corrupt*'))
    with open(out / 'summary.csv', newline='') as f:
        summary = {Path(row['slide']).name: row for row in csv.DictReader(f)}
    assert [summary[p.name]['status'] for p in (jpeg, tiff, corrupt)] == ['done', 'done', 'error']
    assert summary[jpeg.name]['pixel_size_um'] == '0.25'
    # A second run resumes: the finished images are not redone, the corrupt one fails again.
    written = (out / f'{jpeg.stem}.json').stat().st_mtime_ns
    again = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert again.returncode == 1
    with open(out / 'summary.csv', newline='') as f:
        assert [row['status'] for row in csv.DictReader(f)] == ['resumed', 'resumed', 'error']
    assert (out / f'{jpeg.stem}.json').stat().st_mtime_ns == written
    counts = {}
    for stem in (jpeg.stem, tiff.stem):
        record = json.loads((out / f'{stem}.json').read_text())
        assert (record['width'], record['height']) == (IMAGE, IMAGE)
        assert record['num_tiles'] + record['skipped_tiles'] == 9
        assert record['class_name'] == 'ring_cell_cancer'
        boxes = [d['bbox'] for d in record['detections']]
        # Score threshold 0: every window keeps its 50 best boxes, merged.
        assert 10 <= len(boxes) <= 9 * 50
        assert all(0 <= x1 <= x2 <= IMAGE and 0 <= y1 <= y2 <= IMAGE for x1, y1, x2, y2 in boxes)
        with open(out / f'{stem}.csv', newline='') as f:
            rows = list(csv.DictReader(f))
        assert [[float(r[k]) for k in ('x1', 'y1', 'x2', 'y2')] for r in rows] == boxes
        collection = json.loads((out / f'{stem}.geojson').read_text())
        assert collection['type'] == 'FeatureCollection'
        assert len(collection['features']) == len(boxes)
        for feature, (x1, y1, x2, y2) in zip(collection['features'], boxes):
            assert feature['type'] == 'Feature'
            assert feature['properties']['objectType'] == 'detection'
            assert feature['properties']['classification']['name'] == 'ring_cell_cancer'
            assert feature['geometry']['type'] == 'Polygon'
            (ring, ) = feature['geometry']['coordinates']
            assert len(ring) == 5 and ring[0] == ring[-1]
            assert ring[:4] == [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
        overlay = cv2.imread(str(out / f'{stem}_overlay.png'))
        assert overlay.shape == (100 + 60, 320, 3)  # the overview over its legend strip
        assert cv2.imread(str(out / f'{stem}_heatmap.png')).shape == (100 + 40, 320, 3)
        counts[stem] = len(boxes)
    # The JPEG and its lossless TIFF copy hold the same pixels: the same detections.
    assert counts[jpeg.stem] == counts[tiff.stem]


def test_infer_tool_needs_the_pixel_size_of_an_untagged_image(trained, tmp_path, capsys, load_tool):
    checkpoint, _, jpeg = trained
    infer = load_tool('infer')
    assert infer.main([str(CONFIG), str(checkpoint), str(jpeg), '--out-dir', str(tmp_path),
                       '--no-progress']) == 1
    err = capsys.readouterr().err
    assert (f'{jpeg}: the image does not record its pixel size and the model was trained at '
            '0.25 um/px; pass --pixel-size') in err
    # Only the summary, recording the error.
    assert [p.name for p in tmp_path.iterdir()] == ['summary.csv']


def test_infer_tool_refuses_a_checkpoint_of_another_config(trained, capsys, load_tool):
    checkpoint, _, jpeg = trained
    infer = load_tool('infer')
    full = REPO / 'configs/digestpath/retinanet_r18_fpn_dghmc_digestpath.py'
    assert infer.main([str(full), str(checkpoint), str(jpeg), '--out-dir', '/nonexistent']) == 2
    err = capsys.readouterr().err
    assert err.startswith(f'infer.py: error: checkpoint {checkpoint} does not match config {full}')
    assert 'shape-mismatched keys (first: neck.lateral_convs.0.conv.weight' in err


def test_infer_tool_writes_a_given_class_name(trained, tmp_path, load_tool):
    checkpoint, _, jpeg = trained
    infer = load_tool('infer')
    assert infer.main([str(CONFIG), str(checkpoint), str(jpeg), '--out-dir', str(tmp_path),
                       '--tile-size', str(IMAGE), '--pixel-size', '0.25', '--score-thr', '0.0',
                       '--class-name', 'signet ring cell', '--no-progress']) == 0
    record = json.loads((tmp_path / f'{jpeg.stem}.json').read_text())
    assert record['class_name'] == 'signet ring cell' and record['num_tiles'] == 1
    collection = json.loads((tmp_path / f'{jpeg.stem}.geojson').read_text())
    assert {f['properties']['classification']['name'] for f in collection['features']} == {
        'signet ring cell'}
