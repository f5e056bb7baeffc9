# RetinaNet R-50 FPN 1x with DGHM-C on a COCO-format json whose images declare their
# annotation status (PartialCocoDataset: `partially_annotated`, `partial_category_ids`).
# mmdet's `retinanet_r50_fpn_1x_coco.py` with the partial-COCO dataset base and the swap line.
# Set `data_root`, `ann_file`, `data_prefix` and `metainfo=dict(classes=...)` for your data.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../_base_/datasets/partial_coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py'
]
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
model = dict(bbox_head=dict(type='DecoupledRetinaHead', loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass')))  # noqa: E501
