# Paper Table 3 baseline: sigmoid (binary) cross entropy.
_base_ = './retinanet_r18_fpn_focal_digestpath.py'
model = dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))  # noqa: E501
