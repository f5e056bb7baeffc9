"""Fixtures with small hand-made DigestPath layouts."""
from pathlib import Path

import pytest
from digestpath_layout import make_layout


@pytest.fixture
def small_layout(tmp_path: Path) -> Path:
    """Two positive slides (one image each) and two negative images of one slide.

    ``A-lv0-1`` (300 x 200) has 4 boxes, one of them across x = 128..192; ``B-lv0-1``
    (130 x 140) has 2 boxes.
    """
    return make_layout(
        tmp_path / 'dp',
        positives={
            'A-lv0-1': (300, 200, [[10, 10, 40, 40], [100, 50, 180, 90], [200, 150, 260, 190],
                                   [250, 20, 290, 60]]),
            'B-lv0-1': (130, 140, [[5, 5, 25, 30], [60, 70, 100, 120]]),
        },
        negatives={'C-lv0-1': (256, 256), 'C-lv0-2': (200, 180)})

