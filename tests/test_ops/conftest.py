"""Fixtures of the torch-ops tests (they run in both the compiled and the torch environment)."""
import importlib

import pytest

from mmdet_dghm_ops.__main__ import status


@pytest.fixture
def compiled_mmcv() -> None:
    """Skips the test unless mmcv's compiled ops are installed (the reference to compare with)."""
    if status() != 'compiled':
        pytest.skip(f'mmcv._ext is {status()}: no compiled mmcv to compare with')


@pytest.fixture
def torch_ext(monkeypatch):
    """mmcv's op wrappers (``mmcv.ops.nms``, ``roi_align``, ...) calling the torch ops."""
    from mmdet_dghm_ops import mmcv_ext

    # Through importlib: ``mmcv.ops.nms`` and ``mmcv.ops.roi_align`` name functions too.
    for name in ('focal_loss', 'multi_scale_deform_attn', 'nms', 'roi_align'):
        monkeypatch.setattr(importlib.import_module(f'mmcv.ops.{name}'), 'ext_module', mmcv_ext)
    return mmcv_ext
