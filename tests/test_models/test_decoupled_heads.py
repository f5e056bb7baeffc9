"""Every family's head gives each classification element the status of its own image and class.

Scores carry their element's identity: the logit of (image b, class c) is 10 * b + c, so each
row of every loss call names its image and each column its class, whatever order the head
flattens them in. The mask reaching the loss must equal the status table at every element.
"""
from typing import List, Optional

import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from recording_losses import RecordingPartialLoss  # noqa: F401  (registration)

import mmdet_dghm  # noqa: F401  (registration)

IMG = 64
NUM_CLASSES = 3
# Image 0: every class partial; image 1: only class 1 partial; image 2: exhaustive. Every
# image has boxes, so the has-boxes fallback, wrongly applied, would mark all three.
METAS = [dict(partially_annotated=True), dict(partial_labels=[1]),
         dict(partially_annotated=False, partial_labels=[])]
STATUS = torch.tensor([[True, True, True], [False, True, False], [False, False, False]])
BOXES = [[4.0, 6.0, 30.0, 34.0], [30.0, 28.0, 60.0, 62.0]]


SPY = dict(type='RecordingPartialLoss', use_sigmoid=True)


def img_metas() -> List[dict]:
    base = dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG), ori_shape=(IMG, IMG),
                batch_input_shape=(IMG, IMG), scale_factor=(1.0, 1.0))
    return [dict(base, img_id=index, **meta) for index, meta in enumerate(METAS)]


def gt_instances(labels=(0, 2)) -> List[InstanceData]:
    return [InstanceData(bboxes=torch.tensor(BOXES), labels=torch.tensor(labels))
            for _ in METAS]


def encoded(num_imgs: int, num_classes: int, spatial: tuple, priors: int = 1) -> torch.Tensor:
    """(B, priors * C, *spatial) scores holding 10 * image + class."""
    codes = 10.0 * torch.arange(num_imgs).view(-1, 1) + torch.arange(num_classes)
    codes = codes.repeat(1, priors).view(num_imgs, priors * num_classes,
                                         *[1] * len(spatial))
    return codes.expand(num_imgs, priors * num_classes, *spatial).contiguous()


def check_every_element(calls: List[dict], status: torch.Tensor) -> int:
    """Each call's mask equals status[image, class] of every element; returns the count."""
    checked = 0
    for call in calls:
        code = call['pred'].round().long()
        image, klass = code // 10, code % 10
        assert torch.equal(klass, torch.arange(code.size(1)).expand_as(klass))
        partial = call['partial']
        assert partial.dtype == torch.bool
        full = partial if partial.dim() == 2 else partial.view(-1, 1).expand_as(code)
        expected = status[image, klass] if status.dim() == 2 else status[image]
        assert torch.equal(full, expected)
        checked += code.numel()
    return checked


def levels(strides: List[int]) -> List[int]:
    return [-(-IMG // s) for s in strides]


STRIDES = [8, 16, 32, 64, 128]
TEST_CFG = ConfigDict(nms_pre=100, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.6), max_per_img=10)


def fcos_head(loss_cls: dict) -> dict:
    return dict(type='DecoupledFCOSHead', num_classes=NUM_CLASSES, in_channels=8,
                feat_channels=8, stacked_convs=1, strides=STRIDES, norm_cfg=None,
                loss_cls=loss_cls, test_cfg=TEST_CFG)


def atss_head(loss_cls: dict) -> dict:
    return dict(
        type='DecoupledATSSHead', num_classes=NUM_CLASSES, in_channels=8, feat_channels=8,
        stacked_convs=1, norm_cfg=None,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                              scales_per_octave=1, strides=STRIDES),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=loss_cls, loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        train_cfg=ConfigDict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1,
                             pos_weight=-1, debug=False),
        test_cfg=TEST_CFG)


RPN_STRIDES = [4, 8, 16, 32, 64]


def rpn_head(loss_cls: dict) -> dict:
    return dict(
        type='DecoupledRPNHead', in_channels=8, feat_channels=8, num_classes=1,
        anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                              strides=RPN_STRIDES),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                        target_stds=[1.0] * 4),
        loss_cls=loss_cls, loss_bbox=dict(type='L1Loss', loss_weight=1.0),
        train_cfg=ConfigDict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=ConfigDict(nms_pre=100, max_per_img=20, nms=dict(type='nms', iou_threshold=0.7),
                            min_bbox_size=0))


def retina_head(loss_cls: dict) -> dict:
    return dict(
        type='DecoupledRetinaHead', num_classes=NUM_CLASSES, in_channels=8, feat_channels=8,
        stacked_convs=1,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                              ratios=[0.5, 1.0, 2.0], strides=STRIDES),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                        target_stds=[1.0] * 4),
        loss_cls=loss_cls, loss_bbox=dict(type='L1Loss', loss_weight=1.0),
        train_cfg=ConfigDict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                          min_pos_iou=0, ignore_iof_thr=-1),
            sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=TEST_CFG)


def dense_inputs(head: nn.Module, strides: List[int], priors: int, centerness: bool):
    sides = levels(strides)
    cls_scores = [encoded(3, head.cls_out_channels, (s, s), priors) for s in sides]
    bbox_preds = [torch.zeros(3, 4 * priors, s, s) for s in sides]
    extra = [[torch.zeros(3, priors, s, s) for s in sides]] if centerness else []
    # Two-stage detectors give the RPN class-agnostic ground truth (label 0).
    labels = (0, 2) if head.cls_out_channels > 1 else (0, 0)
    return [cls_scores, bbox_preds, *extra, gt_instances(labels), img_metas()]


@pytest.mark.parametrize('name, head_cfg, priors', [('fcos', fcos_head, 1),
                                                    ('atss', atss_head, 1),
                                                    ('retina', retina_head, 9)])
def test_dense_head_mask_is_each_elements_image_and_class_status(name, head_cfg, priors):
    head = build(head_cfg, SPY)
    head.loss_by_feat(*dense_inputs(head, STRIDES, priors, centerness=name != 'retina'))
    calls = head.loss_cls.calls
    # FCOS and RetinaNet (all_levels): one call over all levels; ATSS: one per level.
    assert len(calls) == (len(STRIDES) if name == 'atss' else 1)
    per_image = sum(priors * s * s for s in levels(STRIDES))
    assert check_every_element(calls, STATUS) == 3 * per_image * NUM_CLASSES
    assert bool((torch.cat([c['target'] for c in calls]) < NUM_CLASSES).any())  # positives


def test_fcos_partial_labels_gives_exactly_column_1_of_its_rows():
    head = build(fcos_head, SPY)
    head.loss_by_feat(*dense_inputs(head, STRIDES, 1, centerness=True))
    call = head.loss_cls.calls[0]
    rows = call['pred'][:, 0].round().long() // 10 == 1
    assert int(rows.sum()) == sum(s * s for s in levels(STRIDES))
    assert torch.equal(call['partial'][rows],
                       torch.tensor([False, True, False]).expand(int(rows.sum()), 3))


def test_rpn_mask_is_any_partial_label_of_the_image():
    head = build(rpn_head, SPY)
    head.loss_by_feat(*dense_inputs(head, RPN_STRIDES, 3, centerness=False))
    calls = head.loss_cls.calls
    assert len(calls) == len(RPN_STRIDES)
    assert all(call['partial'].dim() == 1 for call in calls)
    # Objectness: image 1 (partial_labels=[1]) is partial as a whole; image 2 is clean.
    checked = check_every_element(calls, torch.tensor([True, True, False]))
    assert checked == 3 * sum(3 * s * s for s in levels(RPN_STRIDES))


NUM_LAYERS, NUM_DN, NUM_MATCH = 2, 8, 5


def dino_head(loss_cls: dict) -> dict:
    return dict(
        type='DecoupledDINOHead', num_classes=NUM_CLASSES, embed_dims=16,
        sync_cls_avg_factor=True, loss_cls=loss_cls,
        loss_bbox=dict(type='L1Loss', loss_weight=5.0),
        loss_iou=dict(type='GIoULoss', loss_weight=2.0),
        share_pred_layer=False, num_pred_layer=NUM_LAYERS + 1, as_two_stage=True,
        train_cfg=dict(assigner=dict(type='HungarianAssigner', match_costs=[
            dict(type='FocalLossCost', weight=2.0),
            dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
            dict(type='IoUCost', iou_mode='giou', weight=2.0)])),
        test_cfg=dict(max_per_img=10))


def build(head_cfg, loss_cls: dict, head_type: Optional[str] = None) -> nn.Module:
    """The head of ``head_cfg(loss_cls)``, as ``head_type`` if given (a stock head)."""
    cfg = head_cfg(loss_cls)
    return MODELS.build(dict(cfg, type=head_type or cfg['type']))


def dino_inputs(head: nn.Module) -> list:
    gen = torch.Generator().manual_seed(0)
    queries = NUM_DN + NUM_MATCH
    scores = encoded(3, NUM_CLASSES, ()).view(1, 3, 1, NUM_CLASSES)
    boxes = 0.3 + 0.4 * torch.rand(NUM_LAYERS, 3, queries, 4, generator=gen)
    # Two ground truths per image, two denoising groups of 2 * 2 queries each.
    dn_meta = dict(num_denoising_queries=NUM_DN, num_denoising_groups=2)
    return [scores.expand(NUM_LAYERS, 3, queries, NUM_CLASSES).contiguous(), boxes,
            scores[0].expand(3, NUM_MATCH, NUM_CLASSES).contiguous(), boxes[0, :, :NUM_MATCH],
            gt_instances(), img_metas(), dn_meta]


def test_dino_mask_covers_matching_encoder_and_denoising_queries():
    head = build(dino_head, SPY)
    losses = head.loss_by_feat(*dino_inputs(head))
    calls = head.loss_cls.calls
    # Matching queries of each layer, the encoder's proposals, denoising queries of each layer.
    assert [c['pred'].size(0) for c in calls] == \
        [3 * NUM_MATCH] * NUM_LAYERS + [3 * NUM_MATCH] + [3 * NUM_DN] * NUM_LAYERS
    assert {'loss_cls', 'enc_loss_cls', 'dn_loss_cls'} <= set(losses)
    assert check_every_element(calls, STATUS) == \
        3 * NUM_CLASSES * ((NUM_LAYERS + 1) * NUM_MATCH + NUM_LAYERS * NUM_DN)
    # Denoising queries 0-1 and 4-5 of each image are its two boxes, labels 0 and 2.
    dn_target = calls[-1]['target'].view(3, NUM_DN)
    assert dn_target[:, [0, 1, 4, 5]].tolist() == [[0, 2, 0, 2]] * 3
    assert bool((dn_target[:, [2, 3, 6, 7]] == NUM_CLASSES).all())


def test_uniform_statuses_reach_the_loss_as_one_flag_per_row():
    head = build(fcos_head, SPY)
    inputs = dense_inputs(head, STRIDES, 1, centerness=True)
    inputs[-1] = [dict(meta, partial_labels=[]) for meta in inputs[-1]]
    head.loss_by_feat(*inputs)
    partial = head.loss_cls.calls[0]['partial']
    assert partial.dim() == 1
    check_every_element(head.loss_cls.calls, torch.tensor([True, False, False]))


FOCAL = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0)
DGHMC = dict(type='DGHMCLoss', use_sigmoid=True)


@pytest.mark.parametrize('head_cfg, stock, strides, priors, centerness', [
    (fcos_head, 'FCOSHead', STRIDES, 1, True), (atss_head, 'ATSSHead', STRIDES, 1, True),
    (rpn_head, 'RPNHead', RPN_STRIDES, 3, False)])
def test_loss_without_partial_runs_the_stock_head(head_cfg, stock, strides, priors,
                                                  centerness):
    torch.manual_seed(0)
    ours = build(head_cfg, FOCAL)
    torch.manual_seed(0)
    theirs = build(head_cfg, FOCAL, stock)
    assert not bool(ours.status_taking_losses())
    gen = torch.Generator().manual_seed(1)
    inputs = dense_inputs(ours, strides, priors, centerness)
    inputs[0] = [torch.randn(s.shape, generator=gen) for s in inputs[0]]
    inputs[1] = [torch.randn(s.shape, generator=gen) for s in inputs[1]]
    torch.manual_seed(2)  # RPN's RandomSampler
    want = theirs.loss_by_feat(*inputs)
    torch.manual_seed(2)
    got = ours.loss_by_feat(*inputs)
    assert set(got) == set(want)
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=0, atol=0)


@pytest.mark.parametrize('head_cfg', [fcos_head, atss_head, rpn_head, dino_head])
@pytest.mark.parametrize('loss_cls', [dict(type='DGHMCLoss'),
                                      dict(type='DGHMCLoss', use_sigmoid=False)])
def test_softmax_classification_is_refused_naming_the_head(head_cfg, loss_cls):
    name = head_cfg(loss_cls)['type']
    with pytest.raises(ValueError, match=f'{name}: DGHMCLoss needs a sigmoid.*use_sigmoid=True'):
        build(head_cfg, loss_cls)


def eq12_of_recorded_calls(calls: List[dict], partial: bool = True) -> List[torch.Tensor]:
    """DGHMCLoss on the rows, targets, weights and status each recorded call received (or
    with every row clean)."""
    loss = MODELS.build(DGHMC)
    return [loss(call['pred'], call['target'], call['weight'], call['avg_factor'],
                 partial=call['partial'] if partial else torch.zeros_like(call['partial']))
            for call in calls]


@pytest.mark.parametrize('head_cfg, strides, priors, centerness', [
    (fcos_head, STRIDES, 1, True), (atss_head, STRIDES, 1, True),
    (rpn_head, RPN_STRIDES, 3, False)])
def test_dghmc_of_every_dense_head_is_eq12_of_each_calls_rows_and_status(
        head_cfg, strides, priors, centerness):
    head, spy = build(head_cfg, DGHMC), build(head_cfg, SPY)
    gen = torch.Generator().manual_seed(1)
    inputs = dense_inputs(head, strides, priors, centerness)
    inputs[0] = [torch.randn(s.shape, generator=gen, requires_grad=True) for s in inputs[0]]
    losses = []
    for module in (head, spy):  # the RPN samples its anchors at random: the same draws
        torch.manual_seed(0)
        losses.append(module.loss_by_feat(*inputs))
    key = 'loss_cls' if 'loss_cls' in losses[0] else 'loss_rpn_cls'
    got = losses[0][key] if isinstance(losses[0][key], list) else [losses[0][key]]
    expected = eq12_of_recorded_calls(spy.loss_cls.calls)
    assert len(got) == len(expected) == (1 if head_cfg is fcos_head else len(strides))
    torch.testing.assert_close(torch.stack(got), torch.stack(expected))
    # The status is what moves it: every row clean gives other values.
    assert not torch.allclose(torch.stack(expected),
                              torch.stack(eq12_of_recorded_calls(spy.loss_cls.calls, False)))
    sum(got).backward()
    assert all(bool(torch.isfinite(s.grad).all()) for s in inputs[0])


def test_dghmc_of_dino_is_eq12_of_each_query_calls_rows_and_status():
    head, spy = build(dino_head, DGHMC), build(dino_head, SPY)
    inputs = dino_inputs(head)
    inputs[0] = (inputs[0] / 10).requires_grad_()
    losses = head.loss_by_feat(*inputs)
    spy.loss_by_feat(*inputs)
    got = sum(losses[k] for k in losses if k.endswith('loss_cls'))
    # Matching queries of each decoder layer, the encoder's proposals, denoising queries.
    assert len(spy.loss_cls.calls) == 2 * NUM_LAYERS + 1
    torch.testing.assert_close(got, sum(eq12_of_recorded_calls(spy.loss_cls.calls)))
    assert not torch.allclose(got, sum(eq12_of_recorded_calls(spy.loss_cls.calls, False)))
    got.backward()
    assert bool(torch.isfinite(inputs[0].grad).all()) and inputs[0].grad.abs().sum() > 0


def test_partial_labels_out_of_range_names_image_and_key():
    head = build(fcos_head, SPY)
    inputs = dense_inputs(head, STRIDES, 1, centerness=True)
    inputs[-1][1]['partial_labels'] = [NUM_CLASSES]
    inputs[-1][1]['img_path'] = 'b.png'
    with pytest.raises(ValueError, match=r"'partial_labels'.*img_id=1.*b\.png|"
                                         r"'partial_labels'.*b\.png.*img_id=1"):
        head.loss_by_feat(*inputs)



def roi_head(loss_cls: dict, cascade: bool = False) -> dict:
    """Faster R-CNN's RoI head (or Cascade R-CNN's, two stages) on NUM_CLASSES classes."""
    bbox_head = dict(type='Shared2FCBBoxHead', in_channels=8, fc_out_channels=16,
                     roi_feat_size=7, num_classes=NUM_CLASSES,
                     bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                     target_stds=[0.1, 0.1, 0.2, 0.2]),
                     reg_class_agnostic=cascade, loss_cls=loss_cls,
                     loss_bbox=dict(type='L1Loss', loss_weight=1.0))
    rcnn = ConfigDict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                    min_pos_iou=0.5, match_low_quality=False,
                                    ignore_iof_thr=-1),
                      sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25,
                                   neg_pos_ub=-1, add_gt_as_proposals=True),
                      pos_weight=-1, debug=False)
    extractor = dict(type='SingleRoIExtractor', out_channels=8, featmap_strides=[4, 8],
                     roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0))
    common = dict(bbox_roi_extractor=extractor, test_cfg=None)
    if cascade:
        return dict(common, type='DecoupledCascadeRoIHead', num_stages=2,
                    stage_loss_weights=[1, 0.5], bbox_head=[bbox_head] * 2,
                    train_cfg=[rcnn] * 2)
    return dict(common, type='DecoupledStandardRoIHead', bbox_head=bbox_head, train_cfg=rcnn)


#: Proposals per image: a different number of RoIs per image in every loss call.
NUM_PROPOSALS = (3, 11, 6)


def roi_inputs(head: nn.Module) -> list:
    gen = torch.Generator().manual_seed(0)
    feats = tuple(torch.rand(3, 8, IMG // s, IMG // s, generator=gen) for s in (4, 8))
    proposals = []
    for count in NUM_PROPOSALS:
        corner = torch.rand(count, 2, generator=gen) * 30
        boxes = torch.cat([corner, corner + 8 + torch.rand(count, 2, generator=gen) * 25], 1)
        proposals.append(InstanceData(bboxes=boxes, scores=torch.ones(count)))
    samples = []
    for meta, gt in zip(img_metas(), gt_instances()):
        sample = DetDataSample(metainfo=meta)
        sample.gt_instances = gt
        samples.append(sample)
    return [feats, proposals, samples]


@pytest.mark.parametrize('cascade', [False, True])
def test_roi_head_mask_is_each_rois_image_and_class_status(monkeypatch, cascade):
    head = MODELS.build(roi_head(dict(SPY, roi_classifier=True), cascade))
    bbox_heads = head.bbox_head if cascade else [head.bbox_head]
    assert [h.fc_cls.out_features for h in bbox_heads] == [NUM_CLASSES] * len(bbox_heads)
    forward = head._bbox_forward

    def encoded_scores(*args):
        # Cascade's _bbox_forward takes the stage first; the rois are always last.
        results = forward(*args)
        results['cls_score'] = encoded(3, NUM_CLASSES, ())[args[-1][:, 0].long()]
        return results

    monkeypatch.setattr(head, '_bbox_forward', encoded_scores)
    head.loss(*roi_inputs(head))
    calls = [call for h in bbox_heads for call in h.loss_cls.calls]
    assert len(calls) == len(bbox_heads)
    # Every proposal and both ground truths of each image are sampled: 5, 13 and 8 RoIs.
    rows = [(c['pred'][:, 0].round().long() // 10).bincount(minlength=3).tolist()
            for c in calls]
    assert rows[0] == [n + 2 for n in NUM_PROPOSALS]
    assert check_every_element(calls, STATUS) == \
        sum(sum(r) for r in rows) * NUM_CLASSES
    assert bool((calls[0]['target'] == NUM_CLASSES).any())  # background RoIs carry status too


def test_roi_head_refuses_a_status_loss_outside_its_roi_form():
    with pytest.raises(ValueError, match=r'DecoupledStandardRoIHead: .*RecordingPartialLoss '
                                         r'.*set roi_classifier=True'):
        MODELS.build(roi_head(SPY))


def yolox_head(loss_obj: dict) -> dict:
    return dict(type='DecoupledYOLOXHead', num_classes=NUM_CLASSES, in_channels=8,
                feat_channels=8, stacked_convs=1, strides=(8, 16), loss_obj=loss_obj,
                train_cfg=ConfigDict(assigner=dict(type='SimOTAAssigner', center_radius=2.5)))


def test_yolox_objectness_mask_is_any_partial_label_of_the_image():
    head = MODELS.build(yolox_head(SPY))
    sides = [IMG // 8, IMG // 16]
    cls_scores = [torch.zeros(3, NUM_CLASSES, s, s) for s in sides]
    bbox_preds = [torch.zeros(3, 4, s, s) for s in sides]
    objectness = [encoded(3, 1, (s, s)) for s in sides]
    head.loss_by_feat(cls_scores, bbox_preds, objectness, gt_instances(), img_metas())
    calls = head.loss_obj.calls
    assert len(calls) == 1 and calls[0]['partial'].dim() == 1
    assert check_every_element(calls, torch.tensor([True, True, False])) == \
        3 * sum(s * s for s in sides)


def rtmdet_head(loss_cls: dict) -> dict:
    return dict(type='DecoupledRTMDetSepBNHead', num_classes=NUM_CLASSES, in_channels=8,
                feat_channels=8, stacked_convs=1, loss_cls=loss_cls, norm_cfg=dict(type='BN'),
                anchor_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16]),
                bbox_coder=dict(type='DistancePointBBoxCoder'),
                loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
                train_cfg=ConfigDict(assigner=dict(type='DynamicSoftLabelAssigner', topk=13),
                                     allowed_border=-1, pos_weight=-1, debug=False))


def rtmdet_inputs(head: nn.Module) -> list:
    sides = [IMG // 8, IMG // 16]
    cls_scores = [encoded(3, NUM_CLASSES, (s, s)) for s in sides]
    bbox_preds = [torch.full((3, 4, s, s), 14.0) for s in sides]
    return [cls_scores, bbox_preds, gt_instances(), img_metas()]


def test_rtmdet_mask_is_each_elements_status_with_its_soft_targets():
    head = MODELS.build(rtmdet_head(SPY))
    head.loss_by_feat(*rtmdet_inputs(head))
    calls = head.loss_cls.calls
    assert len(calls) == 2  # one per level
    assert check_every_element(calls, STATUS) == 3 * NUM_CLASSES * (8 * 8 + 4 * 4)
    labels = torch.cat([call['target'][0] for call in calls])
    scores = torch.cat([call['target'][1] for call in calls])
    assert bool((labels < NUM_CLASSES).any()) and bool((scores[labels < NUM_CLASSES] > 0).all())


def test_rtmdet_soft_targets_train_dghmc_and_are_refused_by_binary_losses():
    losses = MODELS.build(rtmdet_head(dict(type='DGHMCLoss', use_sigmoid=True,
                                           normalize='mass'))).loss_by_feat(
        *rtmdet_inputs(None))
    assert all(torch.isfinite(loss) and loss > 0 for loss in losses['loss_cls'])
    head = MODELS.build(rtmdet_head(dict(type='CleanOnlyLoss', use_sigmoid=True)))
    with pytest.raises(ValueError, match=r"CleanOnlyLoss: got RTMDet's \(labels, scores\) soft "
                                         r'targets .* DGHMCLoss takes them'):
        head.loss_by_feat(*rtmdet_inputs(head))
