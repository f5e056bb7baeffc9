# PU (a PNU risk on sigmoid CE) on both stages of faster-rcnn_r18-light_fpn_ce_digestpath.py,
# with the RetinaNet config's settings (missing rate 0.7, the benchmark's Table 4 setting): the
# RPN's objectness (class prior per FPN level of the sampled anchors) and the RoI head's box
# classifier in its RoI form (roi_classifier=True: one sigmoid channel; prior over the batch's
# sampled RoIs). The prior follows each call's counts of labeled positives and unlabeled
# elements, which both stages subsample (RandomSampler): see PULoss on setting it.
_base_ = './faster-rcnn_r18-light_fpn_ce_digestpath.py'
model = dict(rpn_head=dict(loss_cls=dict(_delete_=True, type='PULoss', use_sigmoid=True, mode='pnu', missing_rate=0.7, base='ce', loss_weight=1.0)), roi_head=dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='PULoss', use_sigmoid=True, mode='pnu', missing_rate=0.7, base='ce', loss_weight=1.0, roi_classifier=True))))  # noqa: E501
