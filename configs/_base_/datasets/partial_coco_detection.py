# COCO-format detection with per-image annotation status (PartialCocoDataset): mmdet's
# `coco_detection.py`, with the status keys in PackDetInputs' meta_keys so that a Decoupled
# head receives them, and box-less images kept (an exhaustively annotated image without boxes
# holds only clean negatives). Child configs set `data_root`, `ann_file` and `classes`.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)

backend_args = None
# mmdet's PackDetInputs defaults plus the two status keys every Decoupled head reads.
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'partially_annotated', 'partial_labels')
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    dataset=dict(
        type='PartialCocoDataset',
        filter_cfg=dict(filter_empty_gt=False, min_size=32),
        pipeline=train_pipeline))
