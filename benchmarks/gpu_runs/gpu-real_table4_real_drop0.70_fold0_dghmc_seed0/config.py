auto_scale_lr = dict(base_batch_size=8, enable=False)
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'mmdet_dghm',
    ])
data_root = 'data/digestpath/'
dataset_type = 'DigestPathDataset'
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False,
        interval=1500,
        max_keep_ckpts=1,
        save_last=True,
        type='CheckpointHook'),
    logger=dict(interval=20, type='LoggerHook'),
    param_scheduler=dict(_scope_='mmdet', type='ParamSchedulerHook'),
    sampler_seed=dict(_scope_='mmdet', type='DistSamplerSeedHook'),
    timer=dict(_scope_='mmdet', type='IterTimerHook'),
    visualization=dict(_scope_='mmdet', type='DetVisualizationHook'))
default_scope = 'mmdet'
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
load_from = None
log_level = 'INFO'
log_processor = dict(by_epoch=False, type='LogProcessor', window_size=20)
meta_keys = (
    'img_id',
    'img_path',
    'ori_shape',
    'img_shape',
    'scale_factor',
    'flip',
    'flip_direction',
    'partially_annotated',
    'src_img_path',
    'src_img_shape',
    'tile_origin',
    'src_gt_bboxes',
    'src_removed_bboxes',
)
model = dict(
    backbone=dict(
        depth=18,
        frozen_stages=-1,
        init_cfg=None,
        norm_cfg=dict(requires_grad=True, type='BN'),
        norm_eval=False,
        num_stages=4,
        out_indices=(
            0,
            1,
            2,
            3,
        ),
        style='pytorch',
        type='ResNet'),
    bbox_head=dict(
        anchor_generator=dict(
            octave_base_scale=2,
            ratios=[
                0.5,
                1.0,
                2.0,
            ],
            scales_per_octave=3,
            strides=[
                8,
                16,
                32,
                64,
                128,
            ],
            type='AnchorGenerator'),
        bbox_coder=dict(
            target_means=[
                0.0,
                0.0,
                0.0,
                0.0,
            ],
            target_stds=[
                1.0,
                1.0,
                1.0,
                1.0,
            ],
            type='DeltaXYWHBBoxCoder'),
        cls_loss_mode='all_levels',
        feat_channels=64,
        in_channels=64,
        loss_bbox=dict(beta=0.11, loss_weight=1.0, type='SmoothL1Loss'),
        loss_cls=dict(
            bins=10,
            loss_weight=1.0,
            mu_clean=0.5,
            mu_noisy=2.0,
            outlier_thr=0.9,
            type='DGHMCLoss',
            use_sigmoid=True),
        num_classes=1,
        stacked_convs=2,
        type='DecoupledRetinaHead'),
    data_preprocessor=dict(
        bgr_to_rgb=True,
        mean=[
            123.675,
            116.28,
            103.53,
        ],
        pad_size_divisor=32,
        std=[
            58.395,
            57.12,
            57.375,
        ],
        type='DetDataPreprocessor'),
    neck=dict(
        add_extra_convs='on_input',
        in_channels=[
            64,
            128,
            256,
            512,
        ],
        num_outs=5,
        out_channels=64,
        start_level=1,
        type='FPN'),
    test_cfg=dict(
        max_per_img=500,
        min_bbox_size=0,
        nms=dict(iou_threshold=0.5, type='nms'),
        nms_pre=1000,
        score_thr=0.05),
    train_cfg=dict(
        allowed_border=-1,
        assigner=dict(
            ignore_iof_thr=0.5,
            min_pos_iou=0,
            neg_iou_thr=0.4,
            pos_iou_thr=0.5,
            type='MaxIoUAssigner'),
        debug=False,
        pos_weight=-1,
        sampler=dict(type='PseudoSampler')),
    type='RetinaNet')
optim_wrapper = dict(
    clip_grad=dict(max_norm=35.0, norm_type=2),
    optimizer=dict(lr=0.001, type='Adam', weight_decay=0),
    type='OptimWrapper')
param_scheduler = [
    dict(begin=0, by_epoch=False, end=50, start_factor=0.001, type='LinearLR'),
    dict(
        begin=0,
        by_epoch=False,
        end=1500,
        gamma=0.1,
        milestones=[
            1200,
        ],
        type='MultiStepLR'),
]
randomness = dict(deterministic=False, seed=0)
resume = False
test_cfg = dict(type='TestLoop')
test_dataloader = dict(
    batch_size=1,
    dataset=dict(
        data_root='.gpu_data/half-scale',
        drop_rate=0.7,
        drop_seed=0,
        fold=0,
        min_visible=0.5,
        neg_dirs=[],
        num_folds=5,
        pipeline=[
            dict(cache_size=4, type='LoadDigestPathTile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(
                meta_keys=(
                    'img_id',
                    'img_path',
                    'ori_shape',
                    'img_shape',
                    'scale_factor',
                    'flip',
                    'flip_direction',
                    'partially_annotated',
                    'src_img_path',
                    'src_img_shape',
                    'tile_origin',
                    'src_gt_bboxes',
                    'src_removed_bboxes',
                ),
                type='PackDetInputs'),
        ],
        scale=1.0,
        split='train',
        test_mode=True,
        tile_size=512,
        tile_stride=512,
        type='DigestPathDataset'),
    drop_last=False,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
test_evaluator = dict(
    outfile_prefix=
    '/tmp/gpu_work/bench/runs/gpu-real_table4_real_drop0.70_fold0_dghmc_seed0/train_',
    type='DigestPathMetric')
test_pipeline = [
    dict(cache_size=4, type='LoadDigestPathTile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        meta_keys=(
            'img_id',
            'img_path',
            'ori_shape',
            'img_shape',
            'scale_factor',
            'flip',
            'flip_direction',
            'partially_annotated',
            'src_img_path',
            'src_img_shape',
            'tile_origin',
            'src_gt_bboxes',
            'src_removed_bboxes',
        ),
        type='PackDetInputs'),
]
train_cfg = dict(
    max_iters=1500, type='IterBasedTrainLoop', val_begin=1, val_interval=500)
train_dataloader = dict(
    batch_sampler=dict(pos_fraction=0.5, type='PosNegBatchSampler'),
    batch_size=8,
    dataset=dict(
        data_root='.gpu_data/half-scale',
        drop_rate=0.7,
        drop_seed=0,
        fold=0,
        min_visible=0.5,
        num_folds=5,
        pipeline=[
            dict(cache_size=4, decoded_dir=None, type='LoadDigestPathTile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(crop_size=256, min_visible=0.5, type='RandomTileCrop'),
            dict(
                direction=[
                    'horizontal',
                    'vertical',
                ],
                prob=[
                    0.25,
                    0.25,
                ],
                type='RandomFlip'),
            dict(type='RandomRot90'),
            dict(
                meta_keys=(
                    'img_id',
                    'img_path',
                    'ori_shape',
                    'img_shape',
                    'scale_factor',
                    'flip',
                    'flip_direction',
                    'partially_annotated',
                    'src_img_path',
                    'src_img_shape',
                    'tile_origin',
                    'src_gt_bboxes',
                    'src_removed_bboxes',
                ),
                type='PackDetInputs'),
        ],
        scale=1.0,
        split='train',
        tile_size=512,
        tile_stride=512,
        type='DigestPathDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=True, type='DefaultSampler'))
train_pipeline = [
    dict(cache_size=4, decoded_dir=None, type='LoadDigestPathTile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(crop_size=600, min_visible=0.5, type='RandomTileCrop'),
    dict(
        direction=[
            'horizontal',
            'vertical',
        ],
        prob=[
            0.25,
            0.25,
        ],
        type='RandomFlip'),
    dict(type='RandomRot90'),
    dict(
        meta_keys=(
            'img_id',
            'img_path',
            'ori_shape',
            'img_shape',
            'scale_factor',
            'flip',
            'flip_direction',
            'partially_annotated',
            'src_img_path',
            'src_img_shape',
            'tile_origin',
            'src_gt_bboxes',
            'src_removed_bboxes',
        ),
        type='PackDetInputs'),
]
val_cfg = dict(type='ValLoop')
val_dataloader = dict(
    batch_size=1,
    dataset=dict(
        data_root='.gpu_data/half-scale',
        drop_rate=0.0,
        drop_seed=0,
        fold=0,
        min_visible=0.5,
        num_folds=5,
        pipeline=[
            dict(cache_size=4, type='LoadDigestPathTile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(
                meta_keys=(
                    'img_id',
                    'img_path',
                    'ori_shape',
                    'img_shape',
                    'scale_factor',
                    'flip',
                    'flip_direction',
                    'partially_annotated',
                    'src_img_path',
                    'src_img_shape',
                    'tile_origin',
                    'src_gt_bboxes',
                    'src_removed_bboxes',
                ),
                type='PackDetInputs'),
        ],
        scale=1.0,
        split='val',
        test_mode=True,
        tile_size=512,
        tile_stride=512,
        type='DigestPathDataset'),
    drop_last=False,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(
    outfile_prefix=
    '/tmp/gpu_work/bench/runs/gpu-real_table4_real_drop0.70_fold0_dghmc_seed0/val_',
    type='DigestPathMetric')
vis_backends = [
    dict(_scope_='mmdet', type='LocalVisBackend'),
]
visualizer = dict(
    _scope_='mmdet',
    name='visualizer',
    type='DetLocalVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
    ])
work_dir = '/tmp/gpu_work/bench/runs/gpu-real_table4_real_drop0.70_fold0_dghmc_seed0'
