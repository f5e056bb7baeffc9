# RetinaNet, ResNet-18 + FPN, one class (signet ring cell), paper section 4.2.
# Anchors: base sizes 16..256 px on P3-P7 (areas 16^2 to 256^2; RetinaNet's own are 32..512),
# i.e. octave_base_scale 2 x strides 8..128, 3 scales per octave x 3 ratios as in RetinaNet.
# The backbone loads torchvision's ImageNet ResNet-18; offline, pass
# `--cfg-options model.backbone.init_cfg=None` (and, when training from scratch,
# `model.backbone.frozen_stages=-1 model.backbone.norm_eval=False`, see the light variant).
model = dict(
    type='RetinaNet',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(
        type='FPN',
        in_channels=[64, 128, 256, 512],
        out_channels=256,
        start_level=1,
        add_extra_convs='on_input',
        num_outs=5),
    bbox_head=dict(
        type='DecoupledRetinaHead',
        num_classes=1,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        cls_loss_mode='all_levels',
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=2,
            scales_per_octave=3,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0)),
    # Boxes cut to a sliver by a tile or crop border are flagged ignored by the dataset; with
    # ignore_iof_thr the anchors lying on them are left out of the loss instead of becoming
    # (wrong) negatives.
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0,
            ignore_iof_thr=0.5),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    # FROC ranks every detection down to 32 false positives per normal image, whatever their
    # scores (a loss may put all of them below 1e-5): no score threshold at test time, and up
    # to 500 boxes per image or tile, above the cells of a crowded tile and the 32 needed on a
    # normal one. DigestPathMetric's froc_complete says whether the curve got to 32; its
    # score_thr (0.5) is the operating point of recall, precision and NFPs.
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.0,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=500))
