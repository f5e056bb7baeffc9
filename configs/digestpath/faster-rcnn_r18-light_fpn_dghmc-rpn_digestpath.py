# Today's Faster R-CNN swap on faster-rcnn_r18-light_fpn_ce_digestpath.py: the RPN's objectness
# loss -> DGHM-C with the RetinaNet configs' settings (mu_n 2.0, mu_c 0.5, lambda 0.9, 10 bins,
# the paper's eq. 12), one histogram per FPN level of the sampled anchors (the RPN calls its
# loss per level); the RoI head keeps its softmax CE. Objectness is class-agnostic: a negative
# anchor is noisy when its image is partially annotated.
_base_ = './faster-rcnn_r18-light_fpn_ce_digestpath.py'
model = dict(rpn_head=dict(loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, bins=10, mu_noisy=2.0, mu_clean=0.5, outlier_thr=0.9, loss_weight=1.0)))  # noqa: E501
