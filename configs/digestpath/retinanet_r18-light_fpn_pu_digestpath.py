# PU learning for cells with incomplete annotations (Zhao et al., MICCAI 2021) as a PNU risk on
# sigmoid CE: noisy negatives are unlabeled, negatives of exhaustively annotated images true
# negatives; the class prior follows each call's counts from the missing rate (0.7: the
# benchmark's Table 4 setting; set your data's).
_base_ = './retinanet_r18-light_fpn_focal_digestpath.py'
model = dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='PULoss', use_sigmoid=True, mode='pnu', missing_rate=0.7, base='ce', loss_weight=1.0)))  # noqa: E501
