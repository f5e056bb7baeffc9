# PU (a PNU risk on sigmoid CE) on both stages of faster-rcnn_r18-light_fpn_ce_digestpath.py,
# at the RetinaNet config's missing rate (0.7, the benchmark's Table 4 setting).
# - RPN objectness: a fixed prior. Its sampler keeps 256 of the ~12,000 anchors of a 256 px
#   crop, every labeled positive among them, so a prior from each call's counts (missing_rate)
#   would be ~45x too large. 7.3e-4 is the share of hidden cells' anchors among the background
#   anchors before sampling, measured with this head's anchors and assigner on the benchmark's
#   synthetic Table 4 data (5.4e-4 on the real half-scale data); for your data:
#   python tools/pu_prior.py CONFIG --missing-rate M.
# - RoI box classifier, in its RoI form (roi_classifier=True: one sigmoid channel): the prior
#   from each call's counts (missing_rate); its sampler keeps positive and background RoIs at
#   rates of the same order (up to 64 and 192 of ~1,000 proposals per image).
_base_ = './faster-rcnn_r18-light_fpn_ce_digestpath.py'
model = dict(rpn_head=dict(loss_cls=dict(_delete_=True, type='PULoss', use_sigmoid=True, mode='pnu', prior=7.3e-4, base='ce', loss_weight=1.0)), roi_head=dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='PULoss', use_sigmoid=True, mode='pnu', missing_rate=0.7, base='ce', loss_weight=1.0, roi_classifier=True))))  # noqa: E501
