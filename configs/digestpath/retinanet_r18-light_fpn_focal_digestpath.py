# CPU variant of retinanet_r18_fpn_focal_digestpath.py for the demo and the CPU benchmark:
# a 64-channel FPN and head with 2 stacked convs instead of 256 and 4. The backbone starts
# from random weights (no download), so it must train every stage and its BatchNorm
# statistics: mmdet's frozen_stages=1 / norm_eval=True assume ImageNet weights.
# Every other retinanet_r18-light_fpn_<loss>_digestpath.py changes only the loss line.
_base_ = './retinanet_r18_fpn_focal_digestpath.py'
model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(out_channels=64),
    bbox_head=dict(in_channels=64, feat_channels=64, stacked_convs=2))
