# Drop-in swap for an existing mmdet RetinaNet: focal loss -> DGHM-C, nothing else changed.
# `_delete_=True` replaces the inherited loss dict instead of merging into it (focal's `gamma`
# and `alpha` would otherwise reach DGHMCLoss); `use_sigmoid=True` keeps the head's C-channel
# sigmoid output. COCO has no `partially_annotated` key, so DecoupledRetinaHead treats images
# with at least one box as partially annotated and box-less images as exhaustively annotated.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
model = dict(bbox_head=dict(type='DecoupledRetinaHead', loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass')))  # noqa: E501
