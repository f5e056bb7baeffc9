# LVIS v1 box detection with its federated annotation status (PartialLVISV1Dataset): the
# dataset of mmdet's `lvis_v1_instance.py` (class-balanced repeat factors, 300 detections per
# image) without masks, with the status keys in PackDetInputs' meta_keys so that a Decoupled
# head receives them, and box-less images kept (their verified-absent classes are clean
# negatives). Evaluation stays mmdet's LVISV1Dataset / LVISMetric (bbox).
_base_ = 'mmdet::_base_/datasets/lvis_v1_instance.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)

backend_args = None
# mmdet's PackDetInputs defaults plus the two status keys every Decoupled head reads.
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'partially_annotated', 'partial_labels')
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize',
         scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736), (1333, 768), (1333, 800)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    dataset=dict(dataset=dict(type='PartialLVISV1Dataset',
                              filter_cfg=dict(filter_empty_gt=False, min_size=32),
                              pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(metric='bbox')
test_evaluator = val_evaluator
