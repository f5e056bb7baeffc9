"""The demo end to end on the smoke profile, through its user command ``tools/demo.sh``."""
import json
import os
import re
import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.torch_ops
def test_demo_smoke_writes_report_with_metrics_and_pictures(tmp_path, repo_root):
    work = tmp_path / 'demo'
    proc = subprocess.run(['bash', str(repo_root / 'tools' / 'demo.sh'), '--profile', 'smoke',
                           '--synthetic', '--work-dir', str(work)],
                          env={**os.environ, 'PYTHON': sys.executable}, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = work / 'report.md'
    assert f'Demo report: {report}' in proc.stdout
    text = report.read_text()
    metrics = json.loads((work / 'metrics.json').read_text())
    # The table shows exactly what the Runner's test loop returned.
    for key in ('froc', 'recall', 'nfps'):
        row = re.search(rf'^\| {key} \| ([0-9.na]+) \|$', text, flags=re.M)
        assert row is not None, key
        assert row.group(1) == f'{metrics[f"digestpath/{key}"]:.4f}'
    assert metrics['digestpath/num_pos_images'] >= 1
    assert metrics['digestpath/num_normal_images'] >= 1
    # Every picture the report links exists: FROC curve, learning curve, inference overlay.
    links = re.findall(r'!\[[^\]]*\]\(([^)]+)\)', text)
    assert {'eval/froc.png', 'learning_curve.png'} <= set(links)
    assert any(link.startswith('inference/') and link.endswith('_overlay.png') for link in links)
    for link in links:
        assert (work / link).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n', link
    geojson = next((work / 'inference').glob('*.geojson'))
    assert json.loads(geojson.read_text())['type'] == 'FeatureCollection'
