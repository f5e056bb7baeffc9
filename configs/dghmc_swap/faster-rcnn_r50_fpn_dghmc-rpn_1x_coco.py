# Drop-in swap for an existing mmdet Faster R-CNN, the RPN only: its objectness loss, sigmoid CE ->
# DGHM-C; the RoI head keeps its softmax CE (compare faster-rcnn_r50_fpn_dghmc_1x_coco.py, both).
# Objectness is class-agnostic: a negative anchor is noisy when its image has any partial label.
# `_delete_=True` replaces the inherited loss dict; `use_sigmoid=True` keeps one channel.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
model = dict(rpn_head=dict(type='DecoupledRPNHead', loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass')))  # noqa: E501
