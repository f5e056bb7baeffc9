# BRL, background recalibration (Zhang et al., ICASSP 2020), status-aware, with the authors'
# RetinaNet settings: the noisy negatives are the candidates; those scored above 0.5 get the
# mirrored focal term, every candidate's loss is scaled by 0.1; other elements are focal loss.
_base_ = './retinanet_r18_fpn_focal_digestpath.py'
model = dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='BackgroundRecalibrationLoss', use_sigmoid=True, mode='partial', gamma=2.0, alpha=0.25, thresh=0.5, beta=1.0, candidate_weight=0.1, loss_weight=1.0)))  # noqa: E501
