# Paper Table 3: symmetric cross entropy with alpha_SCE = 0.01, beta_SCE = 1.0.
_base_ = './retinanet_r18_fpn_focal_digestpath.py'
model = dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='SymmetricCELoss', use_sigmoid=True, alpha=0.01, beta=1.0, loss_weight=1.0)))  # noqa: E501
