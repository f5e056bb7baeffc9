# Paper Table 3: DGHM-C with the paper's defaults mu_n = 2.0, mu_c = 0.5, lambda = 0.9, 10 bins.
_base_ = './retinanet_r18-light_fpn_focal_digestpath.py'
model = dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, bins=10, mu_noisy=2.0, mu_clean=0.5, outlier_thr=0.9, loss_weight=1.0)))  # noqa: E501
