"""One training step and one prediction of each supported mmdet detector family.

Stock mmdet configs (random weights, 128 px images; 256 px for DINO, whose 900 queries are
picked among the encoder's tokens): what they reach of mmcv's compiled ops on
the CPU is recorded, and in the torch environment served by mmdet_dghm_ops.
"""
import sys
from functools import wraps
from pathlib import Path

import mmdet
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmdet_dghm_ops.mmcv_ext import IMPLEMENTED

pytestmark = [pytest.mark.torch_ops, pytest.mark.slow]

CONFIGS = Path(mmdet.__file__).parent / '.mim' / 'configs'


@pytest.fixture
def ext_calls(monkeypatch) -> set:
    """Names of the ``mmcv._ext`` ops called during the test."""
    import mmcv.ops  # noqa: F401  loads mmcv._ext
    ext, calls = sys.modules['mmcv._ext'], set()

    def record(name, op):

        @wraps(op)
        def call(*args, **kwargs):
            calls.add(name)
            return op(*args, **kwargs)

        return call

    for name in IMPLEMENTED:
        monkeypatch.setattr(ext, name, record(name, getattr(ext, name)))
    return calls


@pytest.mark.parametrize('config, size, losses, ops', [
    ('retinanet/retinanet_r50_fpn_1x_coco.py', 128, {'loss_cls', 'loss_bbox'}, {'nms'}),
    ('fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', 128,
     {'loss_cls', 'loss_bbox', 'loss_centerness'}, {'nms'}),
    ('atss/atss_r50_fpn_1x_coco.py', 128, {'loss_cls', 'loss_bbox', 'loss_centerness'}, {'nms'}),
    ('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 128,
     {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'},
     {'nms', 'roi_align_forward', 'roi_align_backward'}),
    # On the CPU mmcv runs deformable attention in torch itself (the kernel is CUDA-only).
    ('dino/dino-4scale_r50_8xb2-12e_coco.py', 256,
     {'loss_cls', 'loss_bbox', 'loss_iou', 'dn_loss_cls'}, set()),
])
def test_train_step_and_predict(ext_calls, config, size, losses, ops):
    register_all_modules()
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIGS / config)
    cfg.model.backbone.init_cfg = None  # random weights: no download
    if 'score_thr' in cfg.model.test_cfg:  # dense heads start below 0.05: keep boxes for NMS
        cfg.model.test_cfg.score_thr = 0.0
    model = MODELS.build(cfg.model)
    model.init_weights()  # some parameters (DINO's level embeddings) are allocated uninitialised
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, size, size)] * 2, num_items=[3, 2],
                            num_classes=80)
    optim_wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.001)))
    model.train()
    log_vars = model.train_step(packed, optim_wrapper)
    assert losses <= set(log_vars), sorted(log_vars)
    assert torch.isfinite(log_vars['loss'])
    model.eval()
    with torch.no_grad():
        results = model.test_step(packed)
    assert len(results) == 2
    for result in results:
        bboxes = result.pred_instances.bboxes
        assert bboxes.ndim == 2 and bboxes.shape[1] == 4
        assert len(result.pred_instances.scores) == len(bboxes)
    assert ext_calls == ops
