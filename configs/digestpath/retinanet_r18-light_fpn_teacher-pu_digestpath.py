# PartialTeacher over PU: the teacher of retinanet_r18-light_fpn_teacher-ce_digestpath.py, the
# student's loss PU (retinanet_r18-light_fpn_pu_digestpath.py) on what stays unlabelled.
_base_ = './retinanet_r18-light_fpn_teacher-ce_digestpath.py'
model = dict(detector=dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='PULoss', use_sigmoid=True, mode='pnu', missing_rate=0.7, base='ce', loss_weight=1.0))))  # noqa: E501
