"""Cohort runs: a corrupt slide is recorded and the others finish; a rerun resumes."""
import csv

import cv2
import numpy as np
from blob_detector import BlobDetector
from test_tissue_mask import slide

from mmdet_dghm.apis import TiledDetector, finished_summary, format_summary, run_cohort


def test_cohort_survives_a_corrupt_slide_and_resumes(tmp_path):
    folder, out = tmp_path / 'slides', tmp_path / 'out'
    folder.mkdir()
    image = slide(1024)
    cv2.imwrite(str(folder / 'a.png'), image)
    cv2.imwrite(str(folder / 'b.png'), cv2.flip(image, 1))
    (folder / 'c.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00' * 16)
    slides = sorted(folder.iterdir())
    detector = TiledDetector(BlobDetector(full_area=np.pi * 36), tile_size=256, overlap=0,
                             pixel_size=0.5)
    rows = run_cohort(detector, slides, out, score_thr=0.5, show_progress=False,
                      max_overview_size=256)
    assert [r.status for r in rows] == ['done', 'done', 'error']
    assert 'c.png' in rows[2].error and 'not a readable image' in rows[2].error
    for row in rows[:2]:
        # 30 nuclei on 500 x 400 px of tissue at 0.5 um/px: 0.05 mm^2.
        assert row.detections == 30 and row.pixel_size_um == 0.5
        assert abs(row.tissue_area_mm2 - 0.05) < 0.0025  # 5%: the mask is a 4x smaller image
        assert abs(row.per_mm2 - 30 / row.tissue_area_mm2) < 1e-9
        assert (row.windows, row.skipped_windows) == (6, 10)
    for stem in 'ab':
        for suffix in ('.json', '.csv', '.geojson', '_overlay.png', '_heatmap.png',
                       '.done.json'):
            assert (out / f'{stem}{suffix}').is_file(), suffix
    assert not list(out.glob('c.*'))
    with open(out / 'summary.csv', newline='') as f:
        table = list(csv.DictReader(f))
    assert [r['slide'] for r in table] == [str(s) for s in slides]
    assert [r['detections'] for r in table] == ['30', '30', '0']
    assert table[2]['status'] == 'error' and table[2]['tissue_area_mm2'] == ''
    assert 'a.png' in format_summary(rows).splitlines()[1]

    written = (out / 'a.json').stat().st_mtime_ns
    again = run_cohort(detector, slides, out, score_thr=0.5, show_progress=False,
                       max_overview_size=256)
    assert [r.status for r in again] == ['resumed', 'resumed', 'error']
    assert (out / 'a.json').stat().st_mtime_ns == written
    assert again[0].detections == 30
    # A slide whose outputs are incomplete is run again.
    (out / 'b_heatmap.png').unlink()
    assert finished_summary(out, 'b') is None
    assert finished_summary(out, 'a').status == 'resumed'


def test_cohort_without_pixel_size_or_mask_leaves_area_blank(tmp_path):
    path = tmp_path / 'a.png'
    cv2.imwrite(str(path), slide(512))
    detector = TiledDetector(BlobDetector(full_area=np.pi * 36), tile_size=256, overlap=0)
    (row, ) = run_cohort(detector, [path], tmp_path / 'out', score_thr=0.5,
                         show_progress=False, use_tissue_mask=False)
    assert row.tissue_area_mm2 is None and row.per_mm2 is None
    assert (row.windows, row.skipped_windows) == (4, 0)
