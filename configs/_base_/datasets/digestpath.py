# DigestPath2019 signet ring cell detection (paper Sec. 4.2): 800 px tiles with stride 300 at
# 40x, random 600 px crops, flips and quarter turns, 1:3 positive to negative tiles per batch
# of 8, 5 folds by slide. Child configs override `data_root` and merge dataset fields, e.g.
# `train_dataloader = dict(dataset=dict(data_root=data_root, fold=1, scale=0.5))`.
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)

dataset_type = 'DigestPathDataset'
data_root = 'data/digestpath/'

# Resolution is part of the model. DigestPath2019 images are scanned at 40x (paper Sec. 4.1);
# 40x brightfield scanners deliver about 0.25 um per pixel (what OpenSlide reports as
# openslide.mpp-x for 40x scans), so the tiles the model sees measure 0.25 / data_scale um/px.
# A child config changing `data_scale` sets `pixel_size` again; PixelSizeHook saves it into
# every checkpoint's meta, and inference resamples its input to it.
source_pixel_size = 0.25
data_scale = 1.0
pixel_size = source_pixel_size / data_scale
custom_hooks = [dict(type='PixelSizeHook')]

# Every key the DGHM-C head, the stitching metric and R-/T-recall read, plus mmdet's defaults.
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'partially_annotated', 'src_img_path', 'src_img_shape',
             'tile_origin', 'src_gt_bboxes', 'src_removed_bboxes')

train_pipeline = [
    # Shuffled tiles rarely hit the in-memory cache, so each costs a whole-image decode (about
    # 50 ms at 40x). Set decoded_dir to a scratch folder (H*W*3 bytes per image) to decode each
    # image once and read tiles as memory-mapped regions.
    dict(type='LoadDigestPathTile', cache_size=4, decoded_dir=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomTileCrop', crop_size=600, min_visible=0.5),
    # Flip h or v with 1/4 each, then k quarter turns: all 8 symmetries equally likely.
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='RandomRot90'),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadDigestPathTile', cache_size=4),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='PosNegBatchSampler', pos_fraction=0.25),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        fold=0,
        num_folds=5,
        scale=data_scale,
        tile_size=800,
        tile_stride=300,
        min_visible=0.5,
        drop_rate=0.0,
        drop_seed=0,
        pipeline=train_pipeline))
# Overlapping tiles covering whole images, listed image by image: with shuffle=False each
# worker decodes every source image once; the metric stitches tiles by `tile_origin`.
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        fold=0,
        num_folds=5,
        scale=data_scale,
        tile_size=800,
        tile_stride=600,
        min_visible=0.5,
        drop_rate=0.0,
        drop_seed=0,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='DigestPathMetric')
test_evaluator = val_evaluator
