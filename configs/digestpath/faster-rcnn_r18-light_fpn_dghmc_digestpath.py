# DGHM-C on both stages of faster-rcnn_r18-light_fpn_ce_digestpath.py, with the RetinaNet
# configs' settings (mu_n 2.0, mu_c 0.5, lambda 0.9, 10 bins, the paper's eq. 12): the RPN's
# objectness as in faster-rcnn_r18-light_fpn_dghmc-rpn_digestpath.py, and the RoI head's box
# classifier in its RoI form (roi_classifier=True: one sigmoid channel instead of the 2-way
# softmax; one histogram over the batch's sampled RoIs, each carrying its image's status).
_base_ = './faster-rcnn_r18-light_fpn_dghmc-rpn_digestpath.py'
model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, bins=10, mu_noisy=2.0, mu_clean=0.5, outlier_thr=0.9, loss_weight=1.0, roi_classifier=True))))  # noqa: E501
