# Drop-in swap for an existing mmdet Cascade R-CNN: the RPN's objectness and every stage's box
# classifier -> DGHM-C. The stages are a list in the stock config, so the Decoupled head takes
# one `loss_cls` for all of them (in its RoI form, `roi_classifier=True`).
_base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
model = dict(rpn_head=dict(type='DecoupledRPNHead', loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass')), roi_head=dict(type='DecoupledCascadeRoIHead', loss_cls=dict(type='DGHMCLoss', use_sigmoid=True, normalize='mass', roi_classifier=True)))  # noqa: E501
