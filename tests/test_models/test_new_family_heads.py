"""The checks of mmdet's own head tests, on the Decoupled RoI, YOLOX and RTMDet heads.

With DGHM-C as the status loss: empty ground truth gives a positive classification
(objectness) loss and no box loss, one box gives positive box losses. With a stock loss the
Decoupled head is the stock head: same losses and the same predictions from the same weights.
"""
import copy
from typing import Optional

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from test_decoupled_heads import (
    IMG,
    img_metas,
    roi_head,
    roi_inputs,
    rtmdet_head,
    yolox_head,
)

import mmdet_dghm  # noqa: F401  (registration)

DGHMC = dict(type='DGHMCLoss', use_sigmoid=True, normalize='mass')
ROI_DGHMC = dict(DGHMC, roi_classifier=True)
CE = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)
OBJ_CE = dict(type='CrossEntropyLoss', use_sigmoid=True, reduction='sum', loss_weight=1.0)
QFL = dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0)


def ground_truth(num_boxes: int) -> list:
    boxes = torch.tensor([[6.0, 8.0, 40.0, 44.0]] * num_boxes).view(-1, 4)
    return [InstanceData(bboxes=boxes, labels=torch.full((num_boxes, ), 1))
            for _ in range(3)]


def with_gt(inputs: list, num_boxes: int) -> list:
    """The RoI head's inputs with ``num_boxes`` boxes per image."""
    feats, proposals, samples = copy.deepcopy(inputs)
    for sample, gt in zip(samples, ground_truth(num_boxes)):
        sample.gt_instances = gt
    return [feats, proposals, samples]


def total(value) -> float:
    return float(sum(value) if isinstance(value, (list, tuple)) else value)


def dense_outputs(head, sides):
    torch.manual_seed(0)
    return head.forward(tuple(torch.rand(3, 8, s, s) for s in sides))


@pytest.mark.parametrize('cascade', [False, True])
def test_roi_head_empty_and_one_box_losses(cascade):
    head = MODELS.build(roi_head(ROI_DGHMC, cascade))
    inputs = roi_inputs(head)
    empty = head.loss(*with_gt(inputs, 0))
    one = head.loss(*with_gt(inputs, 1))
    prefixes = ['s0.', 's1.'] if cascade else ['']
    for prefix in prefixes:
        assert total(empty[f'{prefix}loss_cls']) > 0
        assert total(empty[f'{prefix}loss_bbox']) == 0
        assert total(one[f'{prefix}loss_cls']) > 0
        assert total(one[f'{prefix}loss_bbox']) > 0


@pytest.mark.parametrize('cascade', [False, True])
def test_roi_head_with_a_stock_loss_is_the_stock_head(cascade):
    cfg = roi_head(CE, cascade)
    ours = MODELS.build(cfg)
    stock = MODELS.build(dict(cfg, type='CascadeRoIHead' if cascade else 'StandardRoIHead'))
    stock.load_state_dict(ours.state_dict())
    inputs = with_gt(roi_inputs(ours), 1)
    torch.manual_seed(0)
    our_losses = ours.loss(*copy.deepcopy(inputs))
    torch.manual_seed(0)
    stock_losses = stock.loss(*copy.deepcopy(inputs))
    assert our_losses.keys() == stock_losses.keys()
    for key in our_losses:
        assert total(our_losses[key]) == pytest.approx(total(stock_losses[key]), rel=1e-6), key
    test_cfg = ConfigDict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5),
                          max_per_img=20)
    ours.test_cfg = stock.test_cfg = test_cfg
    feats, proposals, samples = inputs
    metas = [sample.metainfo for sample in samples]
    got = ours.predict_bbox(feats, metas, copy.deepcopy(proposals), test_cfg)
    expected = stock.predict_bbox(feats, metas, copy.deepcopy(proposals), test_cfg)
    for a, b in zip(got, expected):
        assert torch.equal(a.bboxes, b.bboxes) and torch.equal(a.scores, b.scores)


def dense_losses(head_cfg, loss: dict, num_boxes: int, stock_type: Optional[str] = None):
    """The head of ``head_cfg(loss)`` (as ``stock_type`` if given), its outputs on random
    features, and its losses with ``num_boxes`` boxes per image."""
    cfg = head_cfg(loss)
    head = MODELS.build(dict(cfg, type=stock_type or cfg['type']))
    torch.manual_seed(0)
    head.init_weights()
    outputs = dense_outputs(head, [IMG // 8, IMG // 16])
    return head, outputs, head.loss_by_feat(*outputs, ground_truth(num_boxes), img_metas())


def test_yolox_empty_and_one_box_losses():
    _, _, empty = dense_losses(yolox_head, DGHMC, 0)
    assert float(empty['loss_obj']) > 0
    assert float(empty['loss_cls']) == 0 and float(empty['loss_bbox']) == 0
    _, _, one = dense_losses(yolox_head, DGHMC, 1)
    assert float(one['loss_obj']) > 0 and float(one['loss_cls']) > 0
    assert float(one['loss_bbox']) > 0


def test_yolox_with_a_stock_loss_is_the_stock_head():
    ours, outputs, our_losses = dense_losses(yolox_head, OBJ_CE, 1)
    stock, _, stock_losses = dense_losses(yolox_head, OBJ_CE, 1, 'YOLOXHead')
    for key in stock_losses:
        assert float(our_losses[key]) == pytest.approx(float(stock_losses[key]), rel=1e-6)
    cfg = ConfigDict(score_thr=0.01, nms=dict(type='nms', iou_threshold=0.65))
    got = ours.predict_by_feat(*outputs, img_metas(), cfg=cfg)
    expected = stock.predict_by_feat(*outputs, img_metas(), cfg=cfg)
    for a, b in zip(got, expected):
        assert torch.equal(a.bboxes, b.bboxes) and torch.equal(a.scores, b.scores)


def test_rtmdet_empty_and_one_box_losses():
    _, _, empty = dense_losses(rtmdet_head, DGHMC, 0)
    assert total(empty['loss_cls']) > 0 and total(empty['loss_bbox']) == 0
    _, _, one = dense_losses(rtmdet_head, DGHMC, 1)
    assert total(one['loss_cls']) > 0 and total(one['loss_bbox']) > 0


def test_rtmdet_with_a_stock_loss_is_the_stock_head():
    ours, outputs, our_losses = dense_losses(rtmdet_head, QFL, 1)
    stock, _, stock_losses = dense_losses(rtmdet_head, QFL, 1, 'RTMDetSepBNHead')
    for key in stock_losses:
        assert total(our_losses[key]) == pytest.approx(total(stock_losses[key]), rel=1e-6)
    cfg = ConfigDict(nms_pre=100, score_thr=0.01, nms=dict(type='nms', iou_threshold=0.6),
                     max_per_img=20)
    got = ours.predict_by_feat(*outputs, batch_img_metas=img_metas(), cfg=cfg)
    expected = stock.predict_by_feat(*outputs, batch_img_metas=img_metas(), cfg=cfg)
    for a, b in zip(got, expected):
        assert torch.equal(a.bboxes, b.bboxes) and torch.equal(a.scores, b.scores)
