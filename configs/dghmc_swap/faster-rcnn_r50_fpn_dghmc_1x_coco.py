# Drop-in swap for an existing mmdet Faster R-CNN: both classifiers -> DGHM-C, nothing else changed.
# The RPN's objectness (class-agnostic: a negative anchor is noisy when its image has any partial
# label) and the RoI head's classifier, in its RoI form (`roi_classifier=True`: C sigmoid channels
# instead of the (C + 1)-way softmax; each sampled RoI carries its image's status).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
model = dict(rpn_head=dict(type='DecoupledRPNHead', loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass')), roi_head=dict(type='DecoupledStandardRoIHead', bbox_head=dict(loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass', roi_classifier=True))))  # noqa: E501
