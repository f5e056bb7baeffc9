"""The pure-torch stand-in for mmcv's compiled ops (GPU runs) against the compiled ops."""
import importlib.util
from pathlib import Path

import pytest
import torch
from mmcv.ops import nms as mmcv_nms
from mmdet.models.losses.focal_loss import py_sigmoid_focal_loss

SHIM_PATH = Path(__file__).resolve().parents[2] / 'tools' / 'device' / 'mmcv_ext_torch.py'


@pytest.fixture(scope='module')
def shim():
    spec = importlib.util.spec_from_file_location('mmcv_ext_torch', SHIM_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _boxes(n: int, seed: int) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen) * 100
    wh = torch.rand(n, 2, generator=gen) * 30 + 2
    return torch.cat([xy, xy + wh], 1), torch.rand(n, generator=gen)


@pytest.mark.parametrize('threshold', [0.1, 0.3, 0.7])
def test_reference_nms_keeps_what_mmcv_keeps(shim, threshold):
    boxes, scores = _boxes(300, seed=int(threshold * 10))
    _, expected = mmcv_nms(boxes, scores, threshold)
    kept = shim._nms_reference(boxes, scores, threshold)
    assert 0 < len(kept) < 300
    assert kept.tolist() == expected.tolist()


def test_nms_suppresses_by_iou_above_threshold(shim):
    boxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 5.], [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # IoU of the first two is exactly 0.5: kept at threshold 0.5, suppressed below it.
    assert shim.nms(boxes, scores, 0.5).tolist() == [0, 1, 2]
    assert shim.nms(boxes, scores, 0.49).tolist() == [0, 2]
    assert shim.nms(boxes[:0], scores[:0], 0.5).numel() == 0
    with pytest.raises(NotImplementedError, match='offset=0'):
        shim.nms(boxes, scores, 0.5, offset=1)


def test_focal_forward_and_backward_match_mmdet(shim):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 3, generator=gen) * 3
    target = torch.randint(0, 4, (50,), generator=gen)  # 3 is background
    output = torch.empty_like(logits)
    shim.sigmoid_focal_loss_forward(logits, target, logits.new_empty(0), output,
                                    gamma=2.0, alpha=0.25)
    one_hot = torch.nn.functional.one_hot(target, 4)[:, :3].float()
    x = logits.clone().requires_grad_(True)
    expected = py_sigmoid_focal_loss(x, one_hot, gamma=2.0, alpha=0.25, reduction='none')
    torch.testing.assert_close(output, expected.detach())
    grad = torch.empty_like(logits)
    shim.sigmoid_focal_loss_backward(logits, target, logits.new_empty(0), grad,
                                     gamma=2.0, alpha=0.25)
    expected_grad, = torch.autograd.grad(expected.sum(), x)
    torch.testing.assert_close(grad, expected_grad)


def test_other_ops_exist_but_raise_naming_the_op(shim):
    assert hasattr(shim, 'roi_align_forward')
    with pytest.raises(NotImplementedError, match="'roi_align_forward'"):
        shim.roi_align_forward(torch.zeros(1))
    assert not hasattr(shim, '__wrapped__')
