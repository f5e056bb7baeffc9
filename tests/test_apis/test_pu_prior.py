"""PU's prior of a sampled anchor head, counted before its sampler (``tools/pu_prior.py``)."""
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmdet_dghm.apis.pu_prior import anchor_prior_counts, featmap_sizes, measure_anchor_prior
from mmdet_dghm.models.dense_heads import DecoupledRetinaHead, DecoupledRPNHead

ASSIGNER = dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                ignore_iof_thr=0.5)
#: One 16 px anchor per position of a stride-16 map: on a 64 px image, 16 anchors centred at
#: (16 i, 16 j), i, j in 0..3, none overlapping another.
ANCHORS = dict(type='AnchorGenerator', strides=[16], ratios=[1.0], scales=[1], base_sizes=[16],
               center_offset=0.0)


def rpn_head() -> DecoupledRPNHead:
    init_default_scope('mmdet')
    return DecoupledRPNHead(in_channels=4, feat_channels=4, anchor_generator=ANCHORS,
                            train_cfg=dict(assigner=ASSIGNER, sampler=dict(
                                type='RandomSampler', num=8, pos_fraction=0.5),
                                allowed_border=-1, pos_weight=-1, debug=False))


def gt(boxes, labels) -> InstanceData:
    return InstanceData(bboxes=HorizontalBoxes(torch.tensor(boxes, dtype=torch.float32)),
                        labels=torch.tensor(labels, dtype=torch.long))


def test_featmap_sizes_pad_then_ceil():
    assert featmap_sizes((100, 60), [8, (16, 16)], 32) == [(16, 8), (8, 4)]
    assert featmap_sizes((100, 60), [8], 1) == [(13, 8)]


def test_counts_are_the_assigners_before_sampling():
    """Two cells on the anchors at (16, 16) and (48, 48): 2 positives, the other 14 anchors
    background (the sampler of 8 would keep 4 of them); an ignored box takes one anchor out of
    the background; an exhaustive image counts nothing."""
    head = rpn_head()
    cells = gt([[8, 8, 24, 24], [40, 40, 56, 56]], [0, 0])
    counts = anchor_prior_counts(head, (64, 64), cells, torch.tensor([True]))
    assert counts.num_positive.tolist() == [2.0]
    assert counts.num_unlabeled.tolist() == [14.0]
    assert counts.prior(0.5).item() == pytest.approx(2 / 14)
    assert counts.prior(0.75).item() == pytest.approx(3 * 2 / 14)
    ignored = InstanceData(bboxes=HorizontalBoxes(torch.tensor([[40., 8., 56., 24.]])))
    counts = anchor_prior_counts(head, (64, 64), cells, torch.tensor([True]), ignored)
    assert counts.num_unlabeled.tolist() == [13.0]
    counts = anchor_prior_counts(head, (64, 64), cells, torch.tensor([False]))
    assert counts.num_positive.tolist() == [0.0] and counts.num_unlabeled.tolist() == [0.0]


def test_class_wise_head_counts_each_partial_class():
    """RetinaNet's head, two classes, class 1 partial only: n_P of class 1 only, n_U over every
    background anchor for class 1, nothing for class 0."""
    init_default_scope('mmdet')
    head = DecoupledRetinaHead(
        num_classes=2, in_channels=4, stacked_convs=0, feat_channels=4,
        anchor_generator=dict(ANCHORS, octave_base_scale=1, scales_per_octave=1, scales=None),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True),
        train_cfg=dict(assigner=dict(ASSIGNER, type='MaxIoUAssigner'), sampler=dict(
            type='PseudoSampler'), allowed_border=-1, pos_weight=-1, debug=False))
    cells = gt([[8, 8, 24, 24], [40, 40, 56, 56], [40, 8, 56, 24]], [0, 1, 1])
    counts = anchor_prior_counts(head, (64, 64), cells, torch.tensor([False, True]))
    assert counts.num_positive.tolist() == [0.0, 2.0]
    assert counts.num_unlabeled.tolist() == [0.0, 13.0]


def test_measure_sums_samples_with_each_images_status():
    head = rpn_head()
    samples = []
    for partial, boxes in ((True, [[8, 8, 24, 24]]), (False, [[40, 40, 56, 56]]), (True, [])):
        data_sample = DetDataSample(metainfo=dict(img_shape=(64, 64),
                                                  partially_annotated=partial))
        data_sample.gt_instances = gt(boxes, [0] * len(boxes)) if boxes else InstanceData(
            bboxes=HorizontalBoxes(torch.zeros((0, 4))), labels=torch.zeros(0, dtype=torch.long))
        samples.append(dict(inputs=torch.zeros(3, 64, 64), data_samples=data_sample))
    counts = measure_anchor_prior(head, samples, 1, pad_size_divisor=32)
    # image 0: 1 positive, 15 background; image 1 exhaustive; image 2 partial, 16 background
    assert counts.num_images == 3
    assert counts.num_positive.tolist() == [1.0]
    assert counts.num_unlabeled.tolist() == [31.0]

