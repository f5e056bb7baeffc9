# Paper Table 3: GHM-C with 10 unit regions and no moving average, as DGHM-C here.
_base_ = './retinanet_r18_fpn_focal_digestpath.py'
model = dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='GHMC', bins=10, momentum=0, use_sigmoid=True, loss_weight=1.0)))  # noqa: E501
