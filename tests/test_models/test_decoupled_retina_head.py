"""DecoupledRetinaHead: attribute broadcast, loss dispatch, and equivalence with RetinaHead."""
import copy
import warnings
from typing import List, Optional

import pytest
import torch
from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from recording_losses import RecordingPartialLoss, RecordingPlainLoss

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.models.dense_heads import DecoupledRetinaHead
from mmdet_dghm.models.status_aware_head import loss_accepts_partial
from mmdet_dghm.structures.annotation_status import StatusFallbackWarning, image_partial_flags

IMG = 64
STRIDES = [8, 16, 32, 64, 128]
NUM_BASE = 9  # 3 scales x 3 ratios
# Feature map side per level for a 64 px padded input: ceil(64 / stride).
FEAT_SIDES = [-(-IMG // s) for s in STRIDES]
LEVEL_ANCHORS = [side * side * NUM_BASE for side in FEAT_SIDES]  # [576, 144, 36, 9, 9]
ANCHORS_PER_IMG = sum(LEVEL_ANCHORS)  # 774


RECORD_PARTIAL = dict(type='RecordingPartialLoss', use_sigmoid=True)
RECORD_PLAIN = dict(type='RecordingPlainLoss', use_sigmoid=True)


def head_cfg(loss_cls: dict, **extra) -> dict:
    return dict(
        num_classes=1,
        in_channels=8,
        feat_channels=8,
        stacked_convs=1,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=2,
                              scales_per_octave=3, ratios=[0.5, 1.0, 2.0], strides=STRIDES),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                        target_stds=[1.0] * 4),
        loss_cls=loss_cls,
        loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0),
        train_cfg=ConfigDict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                          min_pos_iou=0, ignore_iof_thr=-1),
            sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
            debug=False),
        test_cfg=ConfigDict(nms_pre=1000, min_bbox_size=0, score_thr=0.05,
                            nms=dict(type='nms', iou_threshold=0.5), max_per_img=100),
        **extra)


def build_head(loss_cls: dict, **extra) -> DecoupledRetinaHead:
    head = MODELS.build(dict(type='DecoupledRetinaHead', **head_cfg(loss_cls, **extra)))
    head.init_weights()
    return head


def sample(boxes: List[List[float]], partial: Optional[bool]) -> DetDataSample:
    meta = dict(img_shape=(IMG, IMG), pad_shape=(IMG, IMG), ori_shape=(IMG, IMG),
                batch_input_shape=(IMG, IMG), scale_factor=(1.0, 1.0))
    if partial is not None:
        meta['partially_annotated'] = partial
    data_sample = DetDataSample(metainfo=meta)
    gt = InstanceData()
    gt.bboxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    gt.labels = torch.zeros(len(boxes), dtype=torch.long)
    data_sample.gt_instances = gt
    return data_sample


# One batch with every case: annotated abnormal crop, abnormal crop holding no box,
# exhaustively annotated normal image (no box).
MIXED_FLAGS = [True, True, False]
BOXES = [[10.0, 12.0, 30.0, 34.0], [36.0, 30.0, 58.0, 52.0]]


def mixed_batch() -> List[DetDataSample]:
    return [sample(BOXES, True), sample([], True), sample([], False)]


def features(num_imgs: int, seed: int = 0) -> List[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(num_imgs, 8, side, side, generator=gen) for side in FEAT_SIDES]


def expected_mask(flags: List[bool]) -> torch.Tensor:
    """Level-major, image-major within level: the order of mmdet's flattened targets."""
    return torch.tensor([flag for n in LEVEL_ANCHORS for flag in flags for _ in range(n)])


def test_partial_mask_is_per_anchor_broadcast_of_image_attribute():
    head = build_head(RECORD_PARTIAL)
    head.loss(features(3), mixed_batch())

    assert len(head.loss_cls.calls) == 1
    partial = head.loss_cls.calls[0]['partial']
    assert partial.dtype == torch.bool
    assert partial.shape == (3 * ANCHORS_PER_IMG, )
    assert torch.equal(partial, expected_mask(MIXED_FLAGS))
    # Two partially annotated images: the box-less abnormal crop counts, the normal one not.
    assert int(partial.sum()) == 2 * ANCHORS_PER_IMG == 1548


def test_mask_rows_line_up_with_scores_and_labels():
    """Scores constant per image identify each row's image; mask and labels must agree."""
    head = build_head(RECORD_PARTIAL)
    cls_scores = [torch.arange(3.0).view(3, 1, 1, 1).expand(3, NUM_BASE, side, side)
                  for side in FEAT_SIDES]
    bbox_preds = [torch.zeros(3, 4 * NUM_BASE, side, side) for side in FEAT_SIDES]
    samples = mixed_batch()
    head.loss_by_feat(cls_scores, bbox_preds, [s.gt_instances for s in samples],
                      [s.metainfo for s in samples])

    call = head.loss_cls.calls[0]
    row_image = call['pred'][:, 0].long()
    assert torch.equal(call['partial'], torch.tensor(MIXED_FLAGS)[row_image])
    positives = call['target'] == 0
    assert int(positives.sum()) > 0
    assert bool((row_image[positives] == 0).all())  # only image 0 has boxes
    assert torch.equal(torch.bincount(row_image), torch.full((3, ), ANCHORS_PER_IMG))


def test_missing_key_falls_back_to_has_ground_truth():
    head = build_head(RECORD_PARTIAL)
    with pytest.warns(StatusFallbackWarning, match='meta_keys'):
        head.loss(features(2), [sample(BOXES, None), sample([], None)])
    assert torch.equal(head.loss_cls.calls[0]['partial'], expected_mask([True, False]))
    # Once per head: the next batches without status are silent.
    with warnings.catch_warnings():
        warnings.simplefilter('error', StatusFallbackWarning)
        head.loss(features(2), [sample(BOXES, None), sample([], None)])


def test_batch_with_status_does_not_warn():
    head = build_head(RECORD_PARTIAL)
    with warnings.catch_warnings():
        warnings.simplefilter('error', StatusFallbackWarning)
        head.loss(features(3), mixed_batch())
    assert head.warned_status_fallback is False


def test_image_partial_flags_rejects_non_bool():
    with pytest.raises(TypeError, match='partially_annotated.*must be a bool.*str'):
        image_partial_flags([dict(partially_annotated='yes')], [InstanceData()], 'cpu')


def test_all_levels_calls_cls_loss_once_with_all_anchors():
    head = build_head(RECORD_PARTIAL)
    losses = head.loss(features(3), mixed_batch())
    assert len(head.loss_cls.calls) == 1
    call = head.loss_cls.calls[0]
    assert call['pred'].shape == (3 * ANCHORS_PER_IMG, 1)
    assert call['target'].shape == call['weight'].shape == (3 * ANCHORS_PER_IMG, )
    assert isinstance(losses['loss_cls'], list) and len(losses['loss_cls']) == 1
    assert len(losses['loss_bbox']) == len(STRIDES)


def test_per_level_mode_calls_once_per_level():
    head = build_head(RECORD_PARTIAL, cls_loss_mode='per_level')
    losses = head.loss(features(3), mixed_batch())
    assert [c['pred'].shape[0] for c in head.loss_cls.calls] == [3 * n for n in LEVEL_ANCHORS]
    partial = torch.cat([c['partial'] for c in head.loss_cls.calls])
    assert torch.equal(partial, expected_mask(MIXED_FLAGS))
    assert len(losses['loss_cls']) == len(STRIDES)


def test_loss_without_partial_gets_retinahead_arguments():
    head = build_head(RECORD_PLAIN)
    assert bool(head.status_taking_losses()) is False
    head.loss(features(3), mixed_batch())
    call = head.loss_cls.calls[0]
    assert call['partial'] is None
    # PseudoSampler: avg_factor sums max(positives, 1) over images; only image 0 has boxes.
    num_pos = int((call['target'] == 0).sum())
    assert num_pos > 0
    assert call['avg_factor'] == num_pos + 2


def test_loss_accepts_partial_only_for_named_parameter():
    assert loss_accepts_partial(RecordingPartialLoss())
    assert not loss_accepts_partial(RecordingPlainLoss())
    # GHMC and CrossEntropyLoss take **kwargs: that must not count.
    assert not loss_accepts_partial(MODELS.build(dict(type='GHMC')))
    assert not loss_accepts_partial(MODELS.build(dict(type='CrossEntropyLoss', use_sigmoid=True)))
    assert not loss_accepts_partial(MODELS.build(dict(type='FocalLoss')))
    assert loss_accepts_partial(MODELS.build(dict(type='DGHMCLoss', use_sigmoid=True)))


def test_invalid_cls_loss_mode():
    with pytest.raises(ValueError, match="cls_loss_mode.*'sum'"):
        build_head(dict(type='FocalLoss', use_sigmoid=True), cls_loss_mode='sum')


def paired_heads(loss_cls: dict, **extra):
    """A RetinaHead and a DecoupledRetinaHead with identical weights."""
    torch.manual_seed(0)
    retina = RetinaHead(**head_cfg(loss_cls))
    retina.init_weights()
    decoupled = build_head(loss_cls, **extra)
    decoupled.load_state_dict(retina.state_dict(), strict=True)
    return retina, decoupled


FOCAL = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0)


@pytest.mark.parametrize('mode', ['all_levels', 'per_level'])
def test_focal_losses_equal_retinahead(mode):
    """Focal is a sum normalised by avg_factor: one call over all levels = sum of per-level."""
    retina, decoupled = paired_heads(FOCAL, cls_loss_mode=mode)
    feats = features(3)
    ref = retina.loss(feats, mixed_batch())
    out = decoupled.loss(feats, mixed_batch())
    torch.testing.assert_close(sum(out['loss_cls']), sum(ref['loss_cls']))
    for got, want in zip(out['loss_bbox'], ref['loss_bbox']):
        torch.testing.assert_close(got, want)


def test_predictions_equal_retinahead():
    retina, decoupled = paired_heads(FOCAL)
    # Without the focal prior bias some boxes pass score_thr and NMS has work to do.
    with torch.no_grad():
        retina.retina_cls.bias.zero_()
    decoupled.load_state_dict(retina.state_dict(), strict=True)
    retina.eval()
    decoupled.eval()
    feats = features(2, seed=3)
    samples = [sample([], True), sample([], False)]
    with torch.no_grad():
        want = retina.predict(feats, samples, rescale=False)
        got = decoupled.predict(feats, samples, rescale=False)
    assert sum(len(r) for r in want) > 0
    for g, w in zip(got, want):
        assert torch.equal(g.bboxes, w.bboxes)
        assert torch.equal(g.scores, w.scores)
        assert torch.equal(g.labels, w.labels)


LOSSES = {
    'ce': dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
    'focal': FOCAL,
    'ghmc': dict(type='GHMC', bins=10, momentum=0, use_sigmoid=True, loss_weight=1.0),
    'sce': dict(type='SymmetricCELoss', use_sigmoid=True, alpha=0.01, beta=1.0),
    'dghmc': dict(type='DGHMCLoss', use_sigmoid=True),
}


@pytest.mark.parametrize('mode', ['all_levels', 'per_level'])
@pytest.mark.parametrize('name', sorted(LOSSES))
def test_every_loss_trains_in_both_modes_and_only_dghmc_reads_the_status(name, mode):
    head = build_head(copy.deepcopy(LOSSES[name]), cls_loss_mode=mode)
    losses = head.loss(features(3), mixed_batch())
    loss_cls = sum(losses['loss_cls'])
    assert loss_cls.dim() == 0 and torch.isfinite(loss_cls)
    loss_cls.backward()
    grad = head.retina_cls.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    # The same batch with every image exhaustive: DGHM-C moves its noisy negatives into the
    # clean group, so its value changes; the status-blind losses give the same value.
    with torch.no_grad():
        exhaustive = [sample(BOXES, False), sample([], False), sample([], False)]
        other = sum(head.loss(features(3), exhaustive)['loss_cls'])
    if name == 'dghmc':
        assert not torch.isclose(other, loss_cls.detach(), rtol=1e-3)
    else:
        assert torch.isclose(other, loss_cls.detach(), rtol=1e-6)


@pytest.mark.parametrize('mode', ['all_levels', 'per_level'])
@pytest.mark.parametrize('name', ['focal', 'dghmc'])
def test_loss_dict_has_retinahead_structure(name, mode):
    """Code written for RetinaHead's loss dict (mmdet's head tests, parse_losses) runs as is."""
    head = build_head(copy.deepcopy(LOSSES[name]), cls_loss_mode=mode)
    out = head.loss(features(3), mixed_batch())
    assert set(out) == {'loss_cls', 'loss_bbox'}
    expected_calls = 1 if mode == 'all_levels' else len(STRIDES)
    assert isinstance(out['loss_cls'], list) and len(out['loss_cls']) == expected_calls
    assert all(loss.dim() == 0 for loss in out['loss_cls'])
    # mmdet's head tests sum the per-call entries; the model's parse_losses does the same.
    total = sum(loss.item() for loss in out['loss_cls'])
    assert total > 0
    _, log_vars = BaseModel.parse_losses(None, out)
    assert float(log_vars['loss_cls']) == pytest.approx(total, rel=1e-6)
