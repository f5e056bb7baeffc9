# PartialTeacher over PU: the teacher of retinanet_r18-light_fpn_teacher-ce_digestpath.py, the
# student's loss PU (retinanet_r18-light_fpn_pu_digestpath.py) on what stays unlabelled. PU
# restores the scores that missing labels deflate under CE, so its thresholds are CE's
# operating ones: pseudo-boxes from 0.6, ignored boxes from 0.3 (at CE's 0.3 a PU teacher
# labelled 150 boxes per positive crop, 13% of them on removed cells); the bound of the CE
# teacher's config.
_base_ = './retinanet_r18-light_fpn_teacher-ce_digestpath.py'
model = dict(semi_train_cfg=dict(pos_thr=0.6, ignore_thr=0.3, max_per_annotated=2.33), detector=dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='PULoss', use_sigmoid=True, mode='pnu', missing_rate=0.7, base='ce', loss_weight=1.0))))  # noqa: E501
