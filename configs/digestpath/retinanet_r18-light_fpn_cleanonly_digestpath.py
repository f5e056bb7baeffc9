# Clean-only (paper section 3.3): sigmoid CE without the noisy negatives (negatives of classes
# partially annotated in their image); every other element as in the CE config.
_base_ = './retinanet_r18-light_fpn_focal_digestpath.py'
model = dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='CleanOnlyLoss', use_sigmoid=True, base='ce', loss_weight=1.0)))  # noqa: E501
