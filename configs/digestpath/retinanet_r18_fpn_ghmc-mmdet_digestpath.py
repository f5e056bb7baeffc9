# GHM-C as mmdet's GHM RetinaNet config sets it (configs/ghm/: 30 unit regions, moving average
# of momentum 0.75, one histogram per FPN level as the stock head's per-level loss calls);
# the box loss stays this family's (mmdet's config also swaps it for GHM-R).
_base_ = './retinanet_r18_fpn_focal_digestpath.py'
model = dict(bbox_head=dict(cls_loss_mode='per_level', loss_cls=dict(_delete_=True, type='GHMC', bins=30, momentum=0.75, use_sigmoid=True, loss_weight=1.0)))  # noqa: E501
