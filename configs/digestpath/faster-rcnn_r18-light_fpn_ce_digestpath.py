# Faster R-CNN counterpart of retinanet_r18-light_fpn_ce_digestpath.py: the same backbone,
# FPN (P3-P7, 64 channels), data, schedule and evaluation, with mmdet's stock Faster R-CNN
# losses (sigmoid CE objectness; (C + 1)-way softmax CE box classifier, which for one class
# is a sigmoid CE on the difference of its two logits). The RPN lays RetinaNet's anchors (9 per
# position, base sizes 16..256 px on P3-P7) under mmdet's RPN assignment and sampling; the RoI
# head pools P3-P6 (every cell of 14-30 px maps to P3) into a light shared-FC head of 256 units.
# Compact as the backbone: the RPN keeps 1,000 anchors per level before NMS (mmdet: 2,000) and
# the RoI head samples 256 RoIs per image (mmdet: 512), which with 14-30 px cells still holds
# every positive RoI; NMS and RoIAlign's backward are most of a CPU step otherwise.
# Both heads are the status-aware ones, which train as RPNHead and StandardRoIHead with
# status-blind losses: every faster-rcnn_r18-light_fpn_<loss>_digestpath.py changes only
# loss lines. As in every DigestPath config, boxes the dataset flags ignored take no part in
# either stage's assignment (ignore_iof_thr 0.5), and test time keeps low scores for FROC.
_base_ = './retinanet_r18-light_fpn_ce_digestpath.py'

model = dict(
    _delete_=True,
    type='FasterRCNN',
    data_preprocessor=_base_.model.data_preprocessor,
    backbone=_base_.model.backbone,
    neck=_base_.model.neck,
    rpn_head=dict(
        type='DecoupledRPNHead',
        in_channels=64,
        feat_channels=64,
        anchor_generator=_base_.model.bbox_head.anchor_generator,
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='DecoupledStandardRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=64,
            featmap_strides=[8, 16, 32, 64]),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=64,
            fc_out_channels=256,
            roi_feat_size=7,
            num_classes=1,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.7,
                neg_iou_thr=0.3,
                min_pos_iou=0.3,
                match_low_quality=True,
                ignore_iof_thr=0.5),
            sampler=dict(
                type='RandomSampler',
                num=256,
                pos_fraction=0.5,
                neg_pos_ub=-1,
                add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(
            nms_pre=1000,
            max_per_img=1000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=0.5),
            sampler=dict(
                type='RandomSampler',
                num=256,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False)),
    # FROC ranks every detection down to 32 false positives per normal image: no score
    # threshold and up to 500 boxes per image or tile (as the RetinaNet configs), from the
    # RPN's 1,000 proposals.
    test_cfg=dict(
        rpn=dict(
            nms_pre=1000,
            max_per_img=1000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            score_thr=0.0,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=500)))
