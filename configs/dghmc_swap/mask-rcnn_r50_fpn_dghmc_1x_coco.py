# Drop-in swap for an existing mmdet Mask R-CNN: the RPN's objectness and the RoI head's box
# classifier -> DGHM-C (as faster-rcnn_r50_fpn_dghmc_1x_coco.py); the mask head is unchanged.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
model = dict(rpn_head=dict(type='DecoupledRPNHead', loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass')), roi_head=dict(type='DecoupledStandardRoIHead', bbox_head=dict(loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass', roi_classifier=True))))  # noqa: E501
