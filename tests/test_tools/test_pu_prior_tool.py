"""``tools/pu_prior.py``: what it refuses (the counting is tested in test_apis/test_pu_prior)."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_refuses_a_head_without_anchors_and_assigner(load_tool):
    tool = load_tool('pu_prior')
    config = REPO / 'configs' / 'dghmc_swap' / 'fcos_r50-caffe_fpn_gn-head_dghmc_1x_coco.py'
    with pytest.raises(SystemExit, match=r'bbox_head \(DecoupledFCOSHead\) has no assigner'):
        tool.main([str(config), '--missing-rate', '0.5'])


def test_refuses_a_missing_rate_outside_0_1(load_tool):
    tool = load_tool('pu_prior')
    config = REPO / 'configs' / 'digestpath' / 'faster-rcnn_r18-light_fpn_pu_digestpath.py'
    with pytest.raises(SystemExit, match=r'--missing-rate must be in \[0, 1\), got 1.0'):
        tool.main([str(config), '--missing-rate', '1'])
