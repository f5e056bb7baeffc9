"""mmdet_dghm_ops.nms against hand-made cases and mmcv's compiled kernel."""
import pytest
import torch

from mmdet_dghm_ops import mmcv_ext
from mmdet_dghm_ops.nms import nms

pytestmark = pytest.mark.torch_ops


def _boxes(n: int, span: float, seed: int) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gen) * span
    wh = torch.rand(n, 2, generator=gen) * 60 + 2
    return torch.cat([xy, xy + wh], 1), torch.rand(n, generator=gen)


def test_suppresses_by_iou_strictly_above_threshold():
    boxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 5.], [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # IoU of the first two is exactly 0.5: kept at threshold 0.5, suppressed below it.
    assert nms(boxes, scores, 0.5).tolist() == [0, 1, 2]
    assert nms(boxes, scores, 0.49).tolist() == [0, 2]
    assert nms(boxes[:0], scores[:0], 0.5).tolist() == []


def test_a_suppressed_box_does_not_suppress():
    # 1 overlaps 0 and 2, 0 and 2 are apart: greedy keeps 0 and 2 (2 is not suppressed by 1).
    boxes = torch.tensor([[0., 0., 10., 10.], [5., 0., 15., 10.], [10., 0., 20., 10.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert nms(boxes, scores, 0.3).tolist() == [0, 2]


def test_kept_indices_are_in_descending_score():
    boxes = torch.tensor([[0., 0., 1., 1.], [5., 5., 6., 6.], [9., 9., 10., 10.]])
    assert nms(boxes, torch.tensor([0.1, 0.7, 0.4]), 0.5).tolist() == [1, 2, 0]


def test_ext_nms_refuses_an_offset():
    boxes, scores = _boxes(5, 100, seed=0)
    with pytest.raises(mmcv_ext.MissingOpError, match="'nms' with offset=1"):
        mmcv_ext.nms(boxes, scores, 0.5, offset=1)


@pytest.mark.parametrize('n, span', [(300, 100), (1000, 60), (2000, 2000)])
@pytest.mark.parametrize('threshold', [0.1, 0.5, 0.7])
def test_same_indices_as_compiled_mmcv(compiled_mmcv, n, span, threshold):
    from mmcv.ops import nms as mmcv_nms
    boxes, scores = _boxes(n, span, seed=n + int(threshold * 10))
    _, expected = mmcv_nms(boxes, scores, threshold)
    kept = nms(boxes, scores, threshold)
    assert 0 < len(kept) < n
    assert kept.tolist() == expected.tolist()


def test_ties_are_broken_as_compiled_mmcv(compiled_mmcv):
    from mmcv.ops import nms as mmcv_nms
    boxes, _ = _boxes(600, 150, seed=3)
    scores = torch.tensor([0.5, 0.9, 0.2]).repeat(200)  # three distinct scores only
    _, expected = mmcv_nms(boxes, scores, 0.3)
    assert nms(boxes, scores, 0.3).tolist() == expected.tolist()
