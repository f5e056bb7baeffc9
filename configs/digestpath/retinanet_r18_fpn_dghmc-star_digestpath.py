# Paper Table 5 (section 5.1): DGHM-C*, positives, exhaustive negatives and partial negatives
# harmonized separately.
_base_ = './retinanet_r18_fpn_focal_digestpath.py'
model = dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, bins=10, mu_noisy=2.0, mu_clean=0.5, outlier_thr=0.9, decouple='full', loss_weight=1.0)))  # noqa: E501
